"""Deribit through the whole pipeline: simulator → feed → subscriber → Celery → ``latest:*``.

Real processes and a real Redis: the Deribit simulator serves its WebSocket and REST
on a free port, ``python -m feed_generator --venue deribit`` connects to it through
``DERIBIT_WS_URL`` / ``DERIBIT_REST_URL``, and the enriched BTC and ETH chains must
reach the cache with USD prices (the coin price × the row's ``underlying_price``),
expiries at 08:00 UTC, the venue's forward, and IVs that agree with the venue's.
"""

from __future__ import annotations

import json
import math
import signal
from typing import Any

import pytest
import redis

from common.latest import LatestReader
from common.names import Channel, feed_health_key
from common.timestamps import parse_ts
from optionsmath.forward import black76_price, implied_vol_black76
from tests.support.deribit_sim import deribit_settings, start_deribit_sim
from tests.support.processes import PYTHON, ProcessSet, wait_until
from tests.support.pubsub import Collector

pytestmark = [pytest.mark.redis, pytest.mark.slow]

COIN_TICK = 0.0001
"""The simulator's price tick, in coin."""
YEAR_S = 365 * 86_400


def _start_venue(procs: ProcessSet, redis_url: str) -> None:
    port = start_deribit_sim(procs)  # a small universe: the test checks values, not throughput
    env = {**deribit_settings(port), "FEED_VENUES": "synthetic"}  # --venue overrides it
    feed = [PYTHON, "-m", "feed_generator", "--venue", "deribit", "--redis-url", redis_url]
    procs.start("feed", feed, env=env)


def _years(expiry_ts: str, timestamp: str) -> float:
    return (parse_ts(expiry_ts) - parse_ts(timestamp)).total_seconds() / YEAR_S


def _iv_of_mark(quote: dict[str, Any]) -> float:
    """Black-76 IV of the quote's USD mark on its own forward, at Deribit's rate 0."""
    T = _years(quote["expiry_ts"], quote["timestamp"])
    is_call = quote["option_type"] == "CALL"
    return float(
        implied_vol_black76(quote["mark"], quote["forward"], quote["strike"], T, 0.0, is_call)
    )


def _on_tick(usd: float, forward: float) -> bool:
    coins = usd / forward / COIN_TICK
    return abs(coins - round(coins)) < 1e-6


def _check_quotes(raw: list[tuple[str, str]]) -> set[str]:
    """Every raw BTC/ETH quote: USD on the coin tick at its forward, IV of mark = mark_iv;
    returns the symbols checked."""
    checked = set()
    for channel, data in raw:
        quote = json.loads(data)
        if channel != Channel.MARKET_OPTION_QUOTE or "mark_iv" not in quote:
            continue
        fwd = quote["forward"]
        assert quote["forward_source"] == "venue", quote
        assert quote["bid"] == 0 or _on_tick(quote["bid"], fwd), quote
        assert _on_tick(quote["ask"], fwd), quote
        assert quote["bid"] <= quote["mark"] <= quote["ask"], quote
        sign = 1.0 if quote["option_type"] == "CALL" else -1.0
        time_value = quote["mark"] - max(0.0, sign * (fwd - quote["strike"]))
        # The simulator rounds mark_iv to 0.01 % (1e-4 as a decimal). A time value of cents
        # carries no IV to that (in an option's last hour, deep in the money, none at all).
        if time_value > 1.0:
            assert _iv_of_mark(quote) == pytest.approx(quote["mark_iv"], abs=2e-4), quote
        checked.add(quote["symbol"])
    return checked


def _mid_in_quoted_band(row: dict[str, Any], forward: float, T: float, is_call: bool) -> bool:
    """The simulator quotes bid and ask at its mark vol ∓ 2 vol points (the bid's vol at
    least 1 point), then rounds them outwards to the coin tick: the mid lies within half a
    tick of the band those two vols price, a bound that holds however small the vega."""
    vol = row["mark_iv"]
    low = max(vol - 0.02 - 1e-4, 0.01 - 1e-4)  # mark_iv is rounded to 0.01 %
    high = vol + 0.02 + 1e-4
    lo, hi = (
        float(black76_price(forward, row["strike"], T, 0.0, sigma, is_call))
        for sigma in (low, high)
    )
    mid, half_tick = (row["bid"] + row["ask"]) / 2, COIN_TICK * forward / 2
    return lo - half_tick - 1e-6 <= mid <= hi + half_tick + 1e-6


def _check_chain(chain: dict[str, Any]) -> list[float]:
    """The venue fields of one enriched chain; returns |iv − mark_iv| of its rows."""
    expiry = chain["expiry"]
    assert (chain["venue"], chain["currency"]) == ("deribit", "USD")
    assert chain["expiry_ts"] == f"{expiry}T08:00:00.000Z"  # Deribit expires at 08:00 UTC
    assert chain["forward_source"] == "venue"
    forward = chain["forward"]
    assert forward == pytest.approx(chain["spot_price"], rel=0.05)  # near the index, in USD
    T = _years(chain["expiry_ts"], chain["timestamp"])
    gaps = []
    for side, rows in (("CALL", chain["calls"]), ("PUT", chain["puts"])):
        for row in rows:
            assert row["mark"] > 0, row
            assert 0 < row["mark_iv"] < 5, row
            if not 0 < row["bid"] <= row["ask"]:
                continue
            # The enricher's IV: Black-76 of the mid on the venue's forward, rate 0, T to
            # the venue's expiry instant.
            mid = (row["bid"] + row["ask"]) / 2
            iv = float(implied_vol_black76(mid, forward, row["strike"], T, 0.0, side == "CALL"))
            if not math.isfinite(iv):  # a mid no volatility prices (rounded to the coin tick
                assert row["iv"] is None, row  # below a deep ITM option's value): none given
                continue
            assert row["iv"] == pytest.approx(iv, abs=1e-6), row
            assert _mid_in_quoted_band(row, forward, T, side == "CALL"), row
            gaps.append(abs(row["iv"] - row["mark_iv"]))
    return gaps


@pytest.mark.timeout(240)
def test_deribit_chains_reach_the_cache_in_usd_with_the_venues_expiry_forward_and_iv(
    procs: ProcessSet, redis_url: str, redis_client: redis.Redis
) -> None:
    procs.worker()
    procs.subscriber()
    market = Collector(redis_url, (Channel.MARKET_OPTION_QUOTE,))
    _start_venue(procs, redis_url)
    latest = LatestReader(redis_client)

    def both_cached() -> bool:
        return all(len(latest.expiries(p)) == 2 for p in ("BTC", "ETH"))

    assert wait_until(both_cached, 120, interval=0.5), procs.log("feed")[-3000:]
    procs.kill("feed", signal.SIGTERM)
    assert procs.wait("feed", 30) == 0, procs.log("feed")[-3000:]
    raw = market.stop()
    assert len(_check_quotes(raw)) == 72  # every option: 2 coins × 2 expiries × 9 strikes × 2
    health = json.loads(redis_client.get(feed_health_key("deribit")) or "{}")
    assert health["state"] == "down"  # the last snapshot of a clean stop
    assert {p["product"] for p in health["products"]} >= {"BTC", "ETH"}

    gaps: list[float] = []
    for product in ("BTC", "ETH"):
        for expiry in latest.expiries(product):
            cached = latest.chain(product, expiry)
            assert cached is not None
            chain = json.loads(cached)
            gaps += _check_chain(chain)
            if product == "BTC":
                assert min(chain["strikes"]) >= 1000  # USD strikes like 95,000
    # Our IV is of the mid, the venue's of its mark. Each mid is checked against the
    # quoted band above; where the tick is small beside the option's vega (most rows) the
    # mid's IV is within the ±2 vol points the simulator quotes around its mark.
    assert len(gaps) >= 36
    assert sorted(gaps)[len(gaps) // 2] < 0.02, sorted(gaps)[-5:]
    assert not redis_client.keys("deadletter:*")
