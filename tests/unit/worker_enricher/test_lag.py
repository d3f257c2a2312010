"""The subscriber's lag: receipt time minus each message's own timestamp, in seconds."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson
import pytest
from prometheus_client import REGISTRY

from common.names import Channel
from common.settings import load_settings
from common.timestamps import parse_ts
from worker_enricher.subscriber.lag import OriginClock
from worker_enricher.subscriber.seqcheck import Mode
from worker_enricher.subscriber.service import Subscriber

STAMP = "2026-11-21T04:00:00.125Z"
EPOCH_S = dt.datetime(2026, 11, 21, 4, 0, 0, 125_000, tzinfo=dt.UTC).timestamp()


def test_wire_timestamps_in_seconds_since_1970() -> None:
    clock = OriginClock()
    assert clock.epoch_s(STAMP) == pytest.approx(EPOCH_S, abs=1e-6)
    # The same second again (cached) and the next one (parsed) agree with parse_ts.
    stamps = ("2026-11-21T04:00:00.999Z", "2026-11-21T04:00:01.000Z", "1970-01-01T00:00:00.001Z")
    for stamp in (*stamps, STAMP):
        assert clock.epoch_s(stamp) == pytest.approx(parse_ts(stamp).timestamp(), abs=1e-6)


@pytest.mark.parametrize(
    "stamp",
    [None, 1763697600, "", "2026-11-21T04:00:00Z", "2026-11-21T04:00:00.12Z",
     "2026-11-21T04:00:00,125Z", "2026-11-21T04:00:00.125+", "2026-11-21T04:00:00.1x5Z",
     "2026-11-21T04:00:00.١٢٣Z", "2026-13-21T04:00:00.125Z", "2026-11-21 04:00:00.125Z"],
)  # fmt: skip
def test_anything_but_the_wire_format_has_no_lag(stamp: object) -> None:
    assert OriginClock().epoch_s(stamp) is None
    assert OriginClock().lag_s(stamp, EPOCH_S) is None


def test_lag_is_the_receipt_time_minus_the_timestamp() -> None:
    clock = OriginClock()
    assert clock.lag_s(STAMP, EPOCH_S + 0.25) == pytest.approx(0.25, abs=1e-6)
    assert clock.lag_s(STAMP, EPOCH_S + 3600) == pytest.approx(3600, abs=1e-6)
    assert clock.lag_s(STAMP, EPOCH_S - 2.0) == 0.0  # clocks apart: no negative lag


@pytest.fixture
def subscriber() -> Subscriber:
    """A subscriber whose clients never connect (take() does no I/O)."""
    return Subscriber(dataclasses.replace(load_settings(), redis_url="redis://127.0.0.1:9/0"))


def _lag(channel: Channel, stat: str, **labels: str) -> float:
    name = f"optionsflow_subscriber_lag_seconds_{stat}"
    return REGISTRY.get_sample_value(name, {"channel": channel.value, **labels}) or 0.0


def test_handled_messages_are_observed_with_their_lag(subscriber: Subscriber) -> None:
    channel = Channel.MARKET_OPTION_QUOTE
    before = {s: _lag(channel, s) for s in ("count", "sum")}
    below = _lag(channel, "bucket", le="0.25")
    subscriber.wall_clock = lambda: EPOCH_S + 0.2
    quote = {"product": "NIFTY", "expiry": "2026-11-26", "seq": 1, "timestamp": STAMP}
    later = {**quote, "seq": 2, "timestamp": "soon"}
    subscriber.take(channel, [(b"1-0", orjson.dumps(quote)), (b"1-1", orjson.dumps(later))],
                    Mode.RUN, 0.0)  # fmt: skip
    assert _lag(channel, "count") - before["count"] == 1  # the unreadable one: no lag
    assert _lag(channel, "sum") - before["sum"] == pytest.approx(0.2, abs=1e-6)
    assert _lag(channel, "bucket", le="0.25") - below == 1
    assert len(subscriber.batcher.pending[channel]) == 2  # both go on to the workers
