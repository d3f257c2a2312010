"""Wire timestamps, time to expiry, and JSON log lines with service and trace id."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from common.jsonlog import configure_logging, current_trace_id, trace
from common.timestamps import format_ts, parse_expiry, parse_ts, years_to_expiry


def test_timestamp_round_trip_with_milliseconds() -> None:
    moment = dt.datetime(2026, 11, 21, 4, 5, 6, 789_999, tzinfo=dt.UTC)
    text = format_ts(moment)
    assert text == "2026-11-21T04:05:06.789Z"
    assert parse_ts(text) == moment.replace(microsecond=789_000)
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert format_ts(moment.astimezone(ist)) == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21T04:05:06Z",
        "2026-11-21T04:05:06.789+00:00",
        "yesterday",
        "",
        "2026-11-21T04:05:06.789Z\n",  # a trailing newline is not the wire format
        "２026-11-21T04:05:06.789Z",  # nor are non-ASCII digits
    ],
)
def test_other_timestamp_forms_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_ts(text)


@pytest.mark.parametrize("text", ["2026-W48-4", "20261124", "2026-11-24\n", "2026-1-240", "x"])
def test_expiries_other_than_yyyy_mm_dd_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="expiry"):
        parse_expiry(text)


def test_years_to_expiry_is_act_365() -> None:
    moment = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
    assert years_to_expiry(moment, dt.date(2026, 11, 28), dt.time(10, 0)) == 7 / 365
    assert years_to_expiry(moment, dt.date(2026, 11, 21), dt.time(10, 30)) == 1800 / (365 * 86400)
    assert years_to_expiry(moment, dt.date(2026, 11, 20), dt.time(10, 0)) == -1 / 365


def test_log_lines_are_json_with_service_and_trace_id() -> None:
    stream = io.StringIO()
    configure_logging("feed_generator", "INFO", stream=stream)
    log = logging.getLogger("optionsflow.test")
    slack = dt.timedelta(milliseconds=1)  # for rounding to the stamp's precision
    before = dt.datetime.now(dt.UTC) - slack
    try:
        with trace("abc123") as tid:
            assert current_trace_id() == tid == "abc123"
            log.info("published", extra={"messages": 42})
        log.warning("outside")
        after = dt.datetime.now(dt.UTC) + slack
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["service"] == "feed_generator"
    assert first["trace_id"] == "abc123"
    assert first["message"] == "published"
    assert first["messages"] == 42
    assert first["level"] == "INFO"
    logged_at = dt.datetime.fromisoformat(first["time"])
    assert logged_at.utcoffset() == dt.timedelta(0)
    assert before <= logged_at <= after  # stamped when logged
    assert second["trace_id"] is None
    assert current_trace_id() is None
