"""Filing a line: its time, service, level and trace id; a line that is not JSON is kept."""

from __future__ import annotations

import datetime as dt
import logging

import orjson
import pytest

from logging_service.records import UNKNOWN_SERVICE, parse, stream_id_us, to_us


def test_fields_come_from_the_line() -> None:
    line = orjson.dumps(
        {
            "time": "2026-12-02T15:38:09.123456+00:00",
            "level": "WARNING",
            "service": "storage_service",
            "trace_id": "abc123",
            "message": "store slow",
            "op": "insert",
        }
    ).decode()
    record = parse("1796225889000-3", line)
    assert record.id == "1796225889000-3"
    assert record.time_us == 1_796_225_889_123_456
    assert (record.service, record.level, record.trace_id) == ("storage_service", 30, "abc123")
    assert record.line == line  # kept as written


def test_a_naive_time_means_utc_and_a_bad_one_falls_back_to_the_entry_id() -> None:
    naive = parse("5-0", '{"time": "2026-12-02T00:00:00", "level": "INFO"}')
    assert naive.time_us == to_us(dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
    bad = parse("1796225889000-0", '{"time": "yesterday", "level": "info"}')
    assert bad.time_us == 1_796_225_889_000_000
    assert bad.level == logging.INFO  # level names in any case
    assert (bad.service, bad.trace_id) == (UNKNOWN_SERVICE, None)


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"a string"', "{broken"])
def test_a_line_that_is_not_an_object_is_wrapped_not_lost(raw: str) -> None:
    record = parse("1796225889000-7", raw)
    wrapped = orjson.loads(record.line)
    assert wrapped["message"] == raw
    assert wrapped["service"] == UNKNOWN_SERVICE
    assert wrapped["time"] == "2026-12-02T15:38:09+00:00"
    assert (record.level, record.time_us) == (0, 1_796_225_889_000_000)


def test_stream_ids_and_instants_convert_exactly() -> None:
    assert stream_id_us("1796225889123-42") == 1_796_225_889_123_000
    when = dt.datetime(2026, 12, 2, 15, 38, 9, 123456, tzinfo=dt.UTC)
    assert to_us(when) == 1_796_225_889_123_456
    assert to_us(dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC)) == -1_000_000
