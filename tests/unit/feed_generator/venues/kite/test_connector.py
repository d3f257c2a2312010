"""The Kite connector without a network: size-triggered flush, the expired-token pause and
its end, the universe's shards and ``/quote`` batches."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import msgspec
import pytest

from common.feeds import VenueHealth, judge
from common.messages import OptionType
from feed_generator.publisher import Encoded
from feed_generator.venues.health import FeedState
from feed_generator.venues.kite.client import Credentials
from feed_generator.venues.kite.connector import TOKEN_EXPIRED, KiteTimings, KiteVenue
from feed_generator.venues.kite.normaliser import KiteOption
from feed_generator.venues.kite.packets import DepthLevel, FullPacket, LtpPacket
from feed_generator.venues.kite.token import TokenSource
from feed_generator.venues.kite.universe import Universe
from feed_generator.venues.runloop import RunLoop

NOON = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
EXPIRY = dt.date(2026, 12, 8)
SECRET = "day1-secret-token"


class Batches(list[list[Encoded]]):
    """A sink keeping each batch."""

    def send(self, batch: Sequence[Encoded]) -> None:
        self.append(list(batch))

    def close(self) -> None:
        pass


def option(i: int) -> KiteOption:
    side = OptionType.CALL if i % 2 == 0 else OptionType.PUT
    return KiteOption(1000 + i, f"NIFTY{i}", "NIFTY", EXPIRY, 20000.0 + 50 * (i // 2), side)


def full(token: int) -> FullPacket:
    book = (DepthLevel(75, 9.95, 1),), (DepthLevel(75, 10.05, 1),)
    return FullPacket(token, 10.0, 75, 10.0, 750, 75, 75, 9.0, 11.0, 9.0, 9.5, 0, 750, 750, 0, 0,
                      *book)  # fmt: skip


def universe(n: int) -> Universe:
    options = tuple(option(i) for i in range(n))
    keys = {256265: ("NSE", "NIFTY 50")} | {o.token: ("NFO", o.symbol) for o in options}
    return Universe(options, {256265: "NIFTY"}, keys)


def venue(tmp_path: Path, **timings: float) -> KiteVenue:
    tokens = TokenSource(Credentials("key", SECRET), tmp_path / "token")
    v = KiteVenue(
        "http://127.0.0.1:9", "ws://127.0.0.1:9/", tokens,
        timings=KiteTimings(flush_s=3600.0, **timings),  # type: ignore[arg-type]
        clock=lambda: 100.0, wall=lambda: NOON,
    )  # fmt: skip
    v.universe = universe(20)
    v.normaliser.set_instruments(v.universe.options, v.universe.indices)
    return v


def test_a_burst_of_flush_max_packets_is_sent_at_once(tmp_path: Path) -> None:
    v = venue(tmp_path, flush_max=5)
    sink = Batches()
    v._sinks = [sink]
    v._packets([full(1000 + i) for i in range(4)])
    assert sink == []
    v._packets([full(1004), LtpPacket(1004, 10.5)])
    assert [len(b) for b in sink] == [6]
    v._packets([LtpPacket(999_999, 1.0)])  # not followed: a dead letter, not a message
    assert v.health.snapshot().dead_letters == 1
    assert len(v.batch) == 0


def test_a_refused_token_is_logged_once_shown_and_waits_for_a_new_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    v = venue(tmp_path, token_poll_s=0.01)
    with caplog.at_level(logging.INFO):
        v._token_refused("ticker handshake refused: HTTP 403")
        v._token_refused("GET /quote: 403 TokenException")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == "kite access token refused; paused until a new token is set"
    snap = v.health.snapshot()
    assert (snap.state, snap.detail) == (FeedState.DOWN, TOKEN_EXPIRED)
    assert v.refused_token == SECRET

    async def resume() -> None:
        v._loop = RunLoop(threading.Event())
        v._rest = SimpleNamespace(credentials=v.tokens.credentials)  # type: ignore[assignment]
        waiting = asyncio.create_task(v._await_token())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # no file, then the same token: still paused
        (tmp_path / "token").write_text(SECRET)
        await asyncio.sleep(0.05)
        assert not waiting.done()
        (tmp_path / "token").write_text("day2-token\n")
        await asyncio.wait_for(waiting, 2.0)
        await v._loop.close()

    asyncio.run(resume())
    assert v.refused_token is None
    assert v._rest.credentials == Credentials("key", "day2-token")
    snap = v.health.snapshot()
    assert (snap.state, snap.detail) == (FeedState.CONNECTING, None)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert SECRET not in logged
    assert "day2-token" not in logged


def test_the_universe_is_sharded_by_connection_and_batched_by_quote_call() -> None:
    u = universe(7000)
    shards = u.shards(3000, 3)
    assert [len(s) for s in shards] == [3000, 3000, 1001]
    assert shards[0][0] == 256265  # the index first: it carries the spot
    # ≤500 a call, and ≤7,000 bytes of query: "i=NFO%3ANIFTY123&" is 17 bytes, 411 a call.
    assert [len(b) for b in u.quote_batches(url_bytes=10**6)] == [500] * 14 + [1]
    batches = u.quote_batches()
    assert all(len(urlencode(b)) < 7000 for b in batches)
    assert sum(map(len, batches)) == 7001
    assert batches[0][0] == ("i", "NSE:NIFTY 50")
    capped = u.capped(6000)
    assert len(capped.tokens) == 6000
    assert 256265 in capped.indices
    assert len(capped.keys) == 6000
    # The farthest from the chain's middle (strike 1,750 of 3,500) go: 5,999 options are
    # ranks 0-1,499 (2 + 4 x 1,499) and the first of rank 1,500 (the call of strike index 250).
    kept = sorted({o.strike for o in capped.options})
    assert (kept[0], kept[-1]) == (20_000 + 50 * 250, 20_000 + 50 * 3249)
    assert u.capped(9000) is u
    assert [len(s) for s in universe(9500).shards(3000, 3)] == [3000, 3000, 3000]


def test_the_feed_status_shows_the_detail_as_the_connector_reported_it(tmp_path: Path) -> None:
    v = venue(tmp_path)
    v._token_refused("ticker handshake refused: HTTP 403")
    encoded = msgspec.json.encode(v.health.snapshot())
    assert SECRET.encode() not in encoded
    status = judge(msgspec.json.decode(encoded, type=VenueHealth), NOON)
    assert (status.state, status.detail) == (FeedState.DOWN, TOKEN_EXPIRED)
