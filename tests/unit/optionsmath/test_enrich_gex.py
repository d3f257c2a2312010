"""Gamma exposure in the enriched chain: a three-strike chain worked by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from common.messages import decode_message
from common.names import Channel
from optionsmath import enrich_chain
from optionsmath.gex import GexBook, flip_level
from tests.support.chains import RATE
from tests.unit.optionsmath.test_enrich import T_5D6H, small_chain

SPOT = 24010.0


def _gamma(strike: float, vol: float = 0.15) -> float:
    """BSM gamma on spot, q = 0: φ(d1)/(S·σ·√T)."""
    s = vol * math.sqrt(T_5D6H)
    d1 = (math.log(SPOT / strike) + RATE * T_5D6H) / s + 0.5 * s
    return math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (SPOT * s)


def test_a_small_chain_by_hand() -> None:
    # OI: calls 100, 200, 300; puts 300, 100, 50 at 23,900, 24,000, 24,100; contracts of 1
    # (no registry); every option priced at 15 %: GEX = ±Γ·OI·S²·0.01.
    out = enrich_chain(small_chain())
    per_1pct = SPOT * SPOT * 0.01
    calls = [_gamma(k) * oi * per_1pct for k, oi in ((23900, 100), (24000, 200), (24100, 300))]
    puts = [-_gamma(k) * oi * per_1pct for k, oi in ((23900, 300), (24000, 100), (24100, 50))]
    assert [r["gex"] for r in out["calls"]] == pytest.approx(calls, rel=1e-6)
    assert [r["gex"] for r in out["puts"]] == pytest.approx(puts, rel=1e-6)
    assert out["call_gex"] == pytest.approx(sum(calls), rel=1e-6)
    assert out["put_gex"] == pytest.approx(sum(puts), rel=1e-6)
    assert out["net_gex"] == pytest.approx(sum(calls) + sum(puts), rel=1e-6)
    # Γ barely differs across 200 points at 15 %: OI decides the walls.
    assert (out["call_wall"], out["put_wall"]) == (24100.0, 23900.0)
    # The flip, revalued at each option's IV: the same as the library's on this book.
    book = GexBook(
        strike=np.array([23900.0, 24000.0, 24100.0] * 2), T=np.full(6, T_5D6H),
        iv=np.full(6, 0.15), oi=np.array([100.0, 200, 300, 300, 100, 50]),
        is_call=np.array([True] * 3 + [False] * 3), carry=np.ones(6), rate=np.full(6, RATE),
        yield_=np.zeros(6), contract_size=np.ones(6), starts=np.array([0]),
    )  # fmt: skip
    assert out["gex_flip"] == pytest.approx(flip_level(book, SPOT), rel=1e-6)
    assert out["gex_flip"] < SPOT  # puts weigh below, calls above
    decode_message(Channel.ENRICHED_OPTION_CHAIN, json.dumps(out))  # valid on the wire


def test_rows_without_gamma_or_oi() -> None:
    chain = small_chain()
    chain["calls"][0]["bid"] = chain["calls"][0]["ask"] = chain["calls"][0]["last"] = 0.0
    chain["puts"][2]["oi"] = 0
    out = enrich_chain(chain)
    assert out["calls"][0]["gex"] is None  # no price: no IV, no gamma
    assert out["puts"][2]["gex"] == 0.0  # no OI: no exposure
    assert out["call_gex"] == pytest.approx(sum(r["gex"] for r in out["calls"][1:]))


def test_a_chain_with_no_open_interest() -> None:
    chain = small_chain()
    for side in ("calls", "puts"):
        for row in chain[side]:
            row["oi"] = 0
    out = enrich_chain(chain)
    assert (out["net_gex"], out["call_gex"], out["put_gex"]) == (0.0, 0.0, 0.0)
    assert (out["call_wall"], out["put_wall"], out["gex_flip"]) == (None, None, None)
