"""The chain batch's pairing: each chain against the last one of its group enriched before it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest

from common.names import previous_chains_key
from common.products import ConventionsRegistry
from common.settings import load_settings
from optionsmath import enrich_chain
from tests.support.chains import EXPIRY, build_chain
from tests.unit.optionsmath.test_enrich_forward import (
    CARRY_F,
    FORWARD,
    PARITY_F,
    T_BTC,
    btc_chain,
    by_hand_prices,
    kite_chain,
)
from worker_enricher import chains
from worker_enricher.context import WorkerContext

STAMP = "2026-11-21T04:00:00.500Z"
RATE, YIELD, EXPIRY_TIME = 0.07, 0.01, dt.time(10, 0)


class FakePipeline:
    """The one Redis round trip ``_previous`` makes: the newest stored chain per key."""

    def __init__(self, stored: dict[str, dict[str, Any]]) -> None:
        self.stored, self.keys = stored, []

    def zrevrangebyscore(self, key: str, *_args: Any, **_kwargs: Any) -> None:
        self.keys.append(key)

    def execute(self) -> list[list[bytes]]:
        return [[orjson.dumps(self.stored[k])] if k in self.stored else [] for k in self.keys]


def context(stored: dict[str, dict[str, Any]], **changes: Any) -> WorkerContext:
    fields = {"risk_free_rate": RATE, "dividend_yield": YIELD, "expiry_time_utc": EXPIRY_TIME}
    settings = dataclasses.replace(load_settings(), **(fields | changes))
    redis = SimpleNamespace(pipeline=lambda transaction: FakePipeline(stored))
    return cast(WorkerContext, SimpleNamespace(settings=settings, redis=redis))


def expected(chain: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The chain as the worker must enrich it: the settings' rate, yield and expiry time,
    and each product's contract size (NIFTY's 75 units scale its gamma exposure)."""
    registry = ConventionsRegistry.standard(
        rate=RATE, dividend_yield=YIELD, expiry_time_utc=EXPIRY_TIME
    )
    return enrich_chain(chain, previous, conventions=registry, processed_at=STAMP)


def with_oi(seq: int, oi: int, **overrides: Any) -> dict[str, Any]:
    chain = build_chain(5, seq=seq, **overrides)
    for side in ("calls", "puts"):
        for row in chain[side]:
            row["oi"] = oi
    return chain


@pytest.fixture(autouse=True)
def _fixed_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chains, "now_ts", lambda: STAMP)


def test_a_chain_that_cannot_be_enriched_is_no_predecessor() -> None:
    stored = with_oi(0, 1000)
    c1 = with_oi(1, 1100)
    bad = with_oi(2, 1200, strikes=[5.0, 4.0, 3.0, 2.0, 1.0])  # the math refuses it
    c2 = with_oi(2, 1300)  # the same seq as the refused one: not a repeat of an enriched chain
    c3 = with_oi(3, 1450)
    other = build_chain(5, seq=7, expiry="2026-12-03")
    valid = [(c, orjson.dumps(c)) for c in (c3, other, bad, c2, c1)]  # sorting is stable
    ctx = context({previous_chains_key("NIFTY", EXPIRY): stored})

    enriched, rejected = chains._enrich_sorted(ctx, list(valid))

    assert [message for message, _ in enriched] == [
        expected(c1, stored), expected(c2, c1), expected(c3, c2), expected(other, None)
    ]  # fmt: skip
    assert [pair[0] for _, pair in enriched] == [c1, c2, c3, other]
    assert [r["oi_change"] for r in enriched[1][0]["calls"]] == [200] * 5  # against c1
    assert rejected == [(orjson.dumps(bad), f"cannot enrich: {_error(bad)}")]


def test_repeats_are_skipped_and_the_rest_paired_in_seq_order() -> None:
    stored = with_oi(4, 900)
    c5, c6 = with_oi(5, 1000), with_oi(6, 1100)
    valid = [(c, orjson.dumps(c)) for c in (c6, stored, c5, c6, c5)]
    ctx = context({previous_chains_key("NIFTY", EXPIRY): stored})

    enriched, rejected = chains._enrich_sorted(ctx, valid)

    assert [message for message, _ in enriched] == [expected(c5, stored), expected(c6, c5)]
    assert rejected == []


def _error(chain: dict[str, Any]) -> str:
    with pytest.raises(ValueError, match="strikes") as info:
        expected(chain, None)
    return str(info.value)


def test_each_product_is_enriched_by_its_own_conventions() -> None:
    btc = btc_chain(by_hand_prices(), forward=FORWARD)  # no expiry_ts: BTC expires 08:00 UTC
    nifty = build_chain(5, seq=3)
    valid = [(c, orjson.dumps(c)) for c in (btc, nifty)]

    enriched, rejected = chains._enrich_sorted(context({}), valid)

    assert rejected == []
    got = {message["product"]: message for message, _ in enriched}
    assert got["NIFTY"] == expected(nifty, None)  # the settings' rate, yield and expiry time
    assert (got["BTC"]["forward"], got["BTC"]["forward_source"]) == (FORWARD, "venue")
    assert got["BTC"]["time_to_expiry"] == pytest.approx(T_BTC, rel=1e-15)
    for row in got["BTC"]["calls"]:  # priced at rate 0 on the venue's forward
        assert row["iv"] == pytest.approx(row["mark_iv"], abs=1e-9)
        assert row["rho"] == pytest.approx(-T_BTC * row["last"] * 0.01, rel=1e-12)


def test_with_kite_running_the_nse_chains_are_priced_on_their_parity_forward() -> None:
    """``FEED_VENUES=kite-sim``: the worker's registry gives NIFTY Kite's conventions, so
    the chain's forward is the one its quotes imply (test_enrich_forward: 24,020.021986),
    not the carry (24,032.458202 at 6.5 %) the synthetic market's conventions give."""
    base = load_settings()
    kite = dataclasses.replace(base.venues, venues=("kite-sim",))
    chain = kite_chain()
    valid = [(chain, orjson.dumps(chain))]
    rates = {"risk_free_rate": 0.065, "dividend_yield": 0.0}

    on_kite, _ = chains._enrich_sorted(context({}, venues=kite, **rates), list(valid))
    synthetic, _ = chains._enrich_sorted(context({}, **rates), list(valid))

    assert on_kite[0][0]["forward_source"] == "parity"
    assert on_kite[0][0]["forward"] == pytest.approx(PARITY_F, abs=1e-6)
    assert synthetic[0][0]["forward_source"] == "carry"
    assert synthetic[0][0]["forward"] == pytest.approx(CARRY_F, abs=1e-6)
