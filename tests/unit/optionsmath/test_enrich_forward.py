"""enrich_chain with per-product conventions: the venue's forward, the parity forward, carry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any

import numpy as np
import orjson
import pytest

from common.messages import decode_message, encode_message
from common.messages.enums import ForwardSource
from common.names import Channel
from common.products import ConventionsRegistry
from feed_generator.market import Market, Rates
from feed_generator.products import resolve_products
from optionsmath import black76_price, bs_price, enrich_chain, enrich_chains
from tests.support.chains import build_chain
from tests.unit.optionsmath.test_forward import black76_by_hand

STAMP = "2026-11-21T04:00:00.250Z"
STANDARD = ConventionsRegistry.standard()
NOW = "2026-11-21T04:00:00.000Z"
EXPIRY_TS = "2026-11-27T08:00:00.000Z"  # Deribit's 08:00 UTC
T_BTC = (6 * 86400 + 4 * 3600) / (365 * 86400)
INDEX, FORWARD = 96_800.0, 97_250.0
STRIKES = np.arange(90_000.0, 105_001.0, 1_000.0)


def btc_vol(strikes: np.ndarray) -> np.ndarray:
    k = np.log(strikes / FORWARD)
    return 0.52 - 0.15 * k + 1.2 * k * k


def btc_chain(prices: tuple[np.ndarray, np.ndarray], **extra: Any) -> dict[str, Any]:
    """A BTC chain as the Deribit normaliser sends it: USD prices, the index as spot."""
    vols = btc_vol(STRIKES)
    rows = {
        side: [
            {"strike": float(k), "bid": float(p), "ask": float(p), "last": float(p),
             "volume": 10, "oi": 100, "mark": float(p), "mark_iv": float(v)}
            for k, p, v in zip(STRIKES, side_prices, vols, strict=True)
        ]
        for side, side_prices in zip(("calls", "puts"), prices, strict=True)
    }  # fmt: skip
    return {
        "product": "BTC", "expiry": "2026-11-27", "spot_price": INDEX,
        "strikes": STRIKES.tolist(), "timestamp": NOW, "seq": 1, "venue": "deribit",
        "currency": "USD", **rows, **extra,
    }  # fmt: skip


def by_hand_prices() -> tuple[np.ndarray, np.ndarray]:
    vols = btc_vol(STRIKES)
    return tuple(  # type: ignore[return-value]
        np.array(
            [
                black76_by_hand(FORWARD, k, T_BTC, 0.0, v, c)
                for k, v in zip(STRIKES, vols, strict=True)
            ]
        )
        for c in (True, False)
    )


def test_deribit_like_chain_gives_the_venues_iv_on_its_forward() -> None:
    chain = btc_chain(by_hand_prices(), expiry_ts=EXPIRY_TS, forward=FORWARD)
    out = enrich_chain(chain, conventions=STANDARD, processed_at=STAMP)
    assert (out["forward"], out["forward_source"]) == (FORWARD, "venue")
    assert out["time_to_expiry"] == pytest.approx(T_BTC, rel=1e-15)
    for side in ("calls", "puts"):
        ours = np.array([row["iv"] for row in out[side]])
        venue = np.array([row["mark_iv"] for row in out[side]])
        np.testing.assert_allclose(ours, venue, atol=1e-9, err_msg=side)
    call = out["calls"][10]  # strike 100,000
    assert call["strike"] == 100_000.0
    k = math.log(100_000 / FORWARD)
    assert call["iv"] == pytest.approx(0.52 - 0.15 * k + 1.2 * k * k, abs=1e-9)
    # Rate 0: Black-76 delta is N(d1), rho −T·V per point.
    assert 0.0 < call["delta"] < 0.5
    assert call["rho"] == pytest.approx(-T_BTC * call["last"] * 0.01, rel=1e-12)
    decode_message(Channel.ENRICHED_OPTION_CHAIN, json.dumps(out))


def test_the_venues_expiry_instant_wins_over_the_products_time() -> None:
    early = "2026-11-27T07:00:00.000Z"
    out = enrich_chain(btc_chain(by_hand_prices(), expiry_ts=early, forward=FORWARD),
                       conventions=STANDARD, processed_at=STAMP)  # fmt: skip
    assert out["time_to_expiry"] == pytest.approx(T_BTC - 3600 / (365 * 86400), rel=1e-15)
    assert out["expiry_ts"] == early
    plain = enrich_chain(btc_chain(by_hand_prices(), forward=FORWARD), conventions=STANDARD)
    assert plain["time_to_expiry"] == pytest.approx(T_BTC, rel=1e-15)  # 08:00 UTC


def test_without_a_forward_a_btc_chain_implies_it_from_parity() -> None:
    rng = np.random.default_rng(11)
    vols = btc_vol(STRIKES)
    prices = tuple(
        np.asarray(black76_price(FORWARD, STRIKES, T_BTC, 0.0, vols, c)) for c in (True, False)
    )
    chain = btc_chain(prices)  # type: ignore[arg-type]
    for side in ("calls", "puts"):
        for row in chain[side]:
            mid = row["last"] * (1.0 + rng.normal(0.0, 0.001))
            row |= {"bid": mid * 0.99, "ask": mid * 1.01}
    chain["puts"][6]["bid"] = 0.0  # one-sided near the money
    out = enrich_chain(chain, conventions=STANDARD, processed_at=STAMP)
    assert out["forward_source"] == "parity"
    assert out["forward"] == pytest.approx(FORWARD, rel=2e-4)
    near = np.abs(np.log(STRIKES / FORWARD)) < 0.05
    ivs = np.array([row["iv"] for row in out["calls"]])
    np.testing.assert_allclose(ivs[near], vols[near], atol=0.01)


def test_without_parity_quotes_the_forward_is_the_carry() -> None:
    chain = btc_chain(by_hand_prices())
    for row in chain["puts"]:
        row["bid"] = 0.0  # no two-sided put anywhere
    out = enrich_chain(chain, conventions=STANDARD, processed_at=STAMP)
    assert (out["forward"], out["forward_source"]) == (INDEX, "carry")  # r = q = 0


def test_a_forward_that_is_not_positive_makes_the_chain_unusable() -> None:
    with pytest.raises(ValueError, match="forward"):
        enrich_chain(btc_chain(by_hand_prices(), forward=0.0), conventions=STANDARD)
    with pytest.raises(ValueError, match="forward"):
        enrich_chain(btc_chain(by_hand_prices(), forward="x"), conventions=STANDARD)


GEX_FIELDS = ("net_gex", "call_gex", "put_gex", "call_wall", "put_wall", "gex_flip")


def test_the_standard_registry_keeps_the_synthetic_numbers() -> None:
    # Only the gamma exposure differs: NIFTY's contracts are of 75 units there, of 1 by
    # default (the walls, a strike, and the flip, a spot, do not scale).
    chain = build_chain()
    standard = enrich_chain(chain, conventions=STANDARD, processed_at=STAMP)
    default = enrich_chain(chain, processed_at=STAMP)

    def without_gex(message: dict[str, Any]) -> dict[str, Any]:
        rows = {side: [{k: v for k, v in row.items() if k != "gex"} for row in message[side]]
                for side in ("calls", "puts")}  # fmt: skip
        return {k: v for k, v in message.items() if k not in GEX_FIELDS} | rows

    assert without_gex(standard) == without_gex(default)
    assert standard["call_gex"] == pytest.approx(75 * default["call_gex"], rel=1e-12)
    assert standard["put_gex"] == pytest.approx(75 * default["put_gex"], rel=1e-12)
    assert (standard["call_wall"], standard["put_wall"]) == (
        default["call_wall"], default["put_wall"],
    )  # fmt: skip
    assert standard["calls"][3]["gex"] == pytest.approx(75 * default["calls"][3]["gex"])


def test_a_mixed_batch_prices_each_product_by_its_conventions() -> None:
    nifty, btc = build_chain(), btc_chain(by_hand_prices(), forward=FORWARD)
    got = enrich_chains([(nifty, None), (btc, None)], conventions=STANDARD, processed_at=STAMP)
    assert got == [
        enrich_chain(nifty, conventions=STANDARD, processed_at=STAMP),
        enrich_chain(btc, conventions=STANDARD, processed_at=STAMP),
    ]
    assert [c["forward_source"] for c in got] == ["carry", "venue"]  # type: ignore[index]


def feed_chains() -> list[dict[str, Any]]:
    market = Market(11, dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC),
                    resolve_products(["NIFTY", "BANKNIFTY", "TCS"]), strikes=21,
                    rates=Rates(tick=0.0, quote=0.0, chain=1.0))  # fmt: skip
    return [
        json.loads(json.dumps(m.payload))
        for m in market.advance(2.0)
        if m.channel == Channel.MARKET_OPTION_CHAIN
    ]


def test_the_synthetic_market_keeps_the_carry_though_parity_agrees() -> None:
    """The feed prices BSM on spot at r and q, so its parity forward is the carry forward up to
    quote noise; that noise would still move short-dated ATM IVs by up to a vol point, which is
    why the synthetic products keep ``forward_method = carry`` (docs/MATH.md)."""
    chains = feed_chains()
    parity = ConventionsRegistry(
        default=dataclasses.replace(STANDARD.default, forward_method=ForwardSource.PARITY)
    )
    carried = enrich_chains([(c, None) for c in chains], conventions=STANDARD, processed_at=STAMP)
    implied = enrich_chains([(c, None) for c in chains], conventions=parity, processed_at=STAMP)
    assert len(chains) >= 20
    for a, b in zip(carried, implied, strict=True):
        assert isinstance(a, dict)
        assert isinstance(b, dict)
        assert (a["forward_source"], b["forward_source"]) == ("carry", "parity")
        assert b["forward"] == pytest.approx(a["forward"], rel=5e-5)


# -- the NSE products from Kite, a real venue: parity, else carry ------------------------------

KITE = ConventionsRegistry.standard(nse_venue="kite")
T_NSE = 5.25 / 365  # 2026-11-21 04:00 UTC to 2026-11-26 10:00 UTC (15:30 IST)
GROWTH = 1.0009353686915459  # e^{rT}, rT = 0.065 × 5.25/365 = 0.000934931507
KITE_MIDS = {  # strike: (call mid, put mid), rupees on the 0.05 tick
    23_900.0: (238.35, 118.50), 23_950.0: (209.20, 139.25), 24_000.0: (182.35, 162.35),
    24_050.0: (157.75, 187.70), 24_100.0: (135.50, 215.40), 24_150.0: (115.45, 215.45),
    24_200.0: (97.65, 277.50),
}  # fmt: skip
"""``F_K = K + (C − P)·e^{rT}``, by hand: 24,019.9621, 24,020.0154, 24,020.0187, 24,020.0220,
24,020.0253, 24,049.9065 (the 24,150 put is stale), 24,019.9818."""
PARITY_F = 24_020.021986  # 24,050 − 29.95 × 1.00093537: the median of the five nearest
CARRY_F = 24_032.458202  # 24,010 × e^{rT}


def kite_chain(two_sided: set[float] | None = None) -> dict[str, Any]:
    """A NIFTY chain as Kite's normaliser sends it (no forward), index 24,010, 1-rupee
    spreads around :data:`KITE_MIDS`; a put outside ``two_sided`` (all by default) is not
    quoted yet (zeros, as the normaliser leaves a side it has no packet for)."""
    rows: dict[str, list[dict[str, Any]]] = {"calls": [], "puts": []}
    for k, mids in KITE_MIDS.items():
        for side, mid in zip(("calls", "puts"), mids, strict=True):
            quoted = side == "calls" or two_sided is None or k in two_sided
            bid, ask = (mid - 0.5, mid + 0.5) if quoted else (0.0, 0.0)
            rows[side].append({"strike": k, "bid": bid, "ask": ask, "last": mid if quoted else 0.0,
                               "volume": 7_500, "oi": 150_000})  # fmt: skip
    return {
        "product": "NIFTY", "expiry": "2026-11-26", "spot_price": 24_010.0,
        "strikes": list(KITE_MIDS), **rows, "timestamp": NOW, "seq": 1, "venue": "kite",
        "currency": "INR", "expiry_ts": "2026-11-26T10:00:00.000Z",
    }  # fmt: skip


def test_a_kite_chain_is_priced_on_its_parity_forward() -> None:
    """The five strikes nearest the carry forward (24,032.46) are 23,950…24,150; their
    ``F_K`` are 24,020.0154, .0187, .0220, .0253 and 24,049.9065, so the median is 24,050's,
    24,050 + (157.75 − 187.70)·e^{rT} = 24,020.021986: the stale put moves nothing."""
    out = enrich_chain(kite_chain(), conventions=KITE, processed_at=STAMP)
    assert out["forward_source"] == "parity"
    assert out["forward"] == pytest.approx(PARITY_F, abs=1e-6)
    assert out["forward"] == pytest.approx(24_050.0 - 29.95 * GROWTH, abs=1e-9)
    assert out["time_to_expiry"] == pytest.approx(T_NSE, rel=1e-15)
    assert out["atm_strike"] == 24_000.0  # 20.02 from F; 24,050 is nearer spot's carry
    # Black-76 on F at r = 6.5 %: each IV gives back its mid on the forward, not on spot.
    call = out["calls"][3]
    assert call["strike"] == 24_050.0
    assert black76_by_hand(PARITY_F, 24_050.0, T_NSE, 0.065, call["iv"], True) == pytest.approx(
        157.75, abs=1e-6
    )
    assert call["rho"] == pytest.approx(-T_NSE * 157.75 * 0.01, rel=1e-12)
    # The mids were set at 15 % on a forward of 24,020 (then rounded to the tick): on the
    # parity forward the call and the put of a strike agree (0.14998 both at 24,050).
    put = out["puts"][3]
    assert black76_by_hand(PARITY_F, 24_050.0, T_NSE, 0.065, put["iv"], False) == pytest.approx(
        187.70, abs=1e-6
    )
    assert call["iv"] == pytest.approx(0.15, abs=1e-4)
    assert put["iv"] == pytest.approx(call["iv"], abs=1e-4)
    decode_message(Channel.ENRICHED_OPTION_CHAIN, json.dumps(out))


def test_a_kite_chain_without_enough_parity_pairs_falls_back_to_carry() -> None:
    """Parity needs three strikes with two-sided call and put quotes: with puts quoted at
    23,950, 24,000 and 24,150 only, ``F`` is their median, 24,000 + 20.00·e^{rT} =
    24,020.018707; with 24,000 and 24,050 only, or with no put quoted, it is the carry."""
    three = enrich_chain(kite_chain({23_950.0, 24_000.0, 24_150.0}), conventions=KITE)
    assert three["forward_source"] == "parity"
    assert three["forward"] == pytest.approx(24_020.018707, abs=1e-6)
    for two_sided in ({24_000.0, 24_050.0}, set()):
        out = enrich_chain(kite_chain(two_sided), conventions=KITE, processed_at=STAMP)
        assert out["forward_source"] == "carry"
        assert out["forward"] == pytest.approx(CARRY_F, abs=1e-6)
        assert out["forward"] == pytest.approx(24_010.0 * GROWTH, rel=1e-15)


def test_the_same_quotes_from_the_synthetic_market_keep_the_carry() -> None:
    """The synthetic registry prices the same chain as before, BSM on spot with the carry:
    ``F`` = 24,032.458202, ATM 24,050, and the 24,050 call's IV is the one BSM on 24,010
    gives. On a forward 12.44 too high the call reads 14.48 % and the put 15.56 %: the split
    a real venue's quotes would show if Kite kept the carry."""
    out = enrich_chain(kite_chain(), conventions=STANDARD, processed_at=STAMP)
    assert (out["forward_source"], out["forward"]) == ("carry", pytest.approx(CARRY_F, abs=1e-6))
    assert out["atm_strike"] == 24_050.0
    call, put = out["calls"][3], out["puts"][3]
    assert bs_price(24_010.0, 24_050.0, T_NSE, 0.065, 0.0, call["iv"], True) == pytest.approx(
        157.75, abs=1e-6
    )
    assert (call["iv"], put["iv"]) == (pytest.approx(0.1448, abs=1e-4),
                                       pytest.approx(0.1556, abs=1e-4))  # fmt: skip


def test_a_messages_forward_keeps_its_own_source() -> None:
    chain = btc_chain(by_hand_prices(), forward=FORWARD, forward_source="parity")
    out = enrich_chain(chain, conventions=STANDARD, processed_at=STAMP)
    assert (out["forward"], out["forward_source"]) == (FORWARD, "parity")
    with pytest.raises(ValueError, match="forward_source"):
        enrich_chain(dict(chain, forward_source="guess"), conventions=STANDARD)
    with pytest.raises(ValueError, match="forward_source"):
        enrich_chain(dict(chain, forward_source=["venue"]), conventions=STANDARD)


# -- the summaries are taken at the forward, not at spot -------------------------------------

RICH_FORWARD = INDEX * 1.02  # 98,736: 2 % above the index, as a rich BTC basis gives


def rich_vol(strike: float) -> float:
    k = math.log(strike / RICH_FORWARD)
    return 0.55 - 0.2 * k + 1.5 * k * k


def rich_chain(call_oi: list[float], put_oi: list[float], seq: int = 1) -> dict[str, Any]:
    """Strikes 90,000…105,000 every 1,000 priced by hand (Black-76 on the forward, r = 0)."""
    prices = tuple(
        np.array([black76_by_hand(RICH_FORWARD, k, T_BTC, 0.0, rich_vol(k), c) for k in STRIKES])
        for c in (True, False)
    )
    chain = btc_chain(prices, expiry_ts=EXPIRY_TS, forward=RICH_FORWARD, seq=seq)  # type: ignore[arg-type]
    for side, oi in (("calls", call_oi), ("puts", put_oi)):
        for row, value in zip(chain[side], oi, strict=True):
            row["oi"] = value
    return chain


def test_atm_straddle_move_and_otm_buildup_are_taken_at_the_forward() -> None:
    """F = 98,736 with the index at 96,800: spot's ATM strike would be 97,000 (200 away),
    the forward's is 99,000 (264 away, 98,000 is 736 away); OTM calls are the 7 strikes
    99,000…105,000 (spot: the 9 from 97,000), OTM puts the 9 strikes 90,000…98,000
    (spot: the 7 up to 96,000)."""
    n = STRIKES.size
    previous = rich_chain([100] * n, [200] * n)
    current = rich_chain([110] * n, [300] * n, seq=2)  # every call +10, every put +100
    out = enrich_chain(current, previous, conventions=STANDARD, processed_at=STAMP)
    assert (out["spot_price"], out["forward"]) == (INDEX, RICH_FORWARD)
    assert out["atm_strike"] == 99_000.0
    sigma = rich_vol(99_000.0)
    assert out["atm_iv"] == pytest.approx(sigma, abs=1e-9)
    call = black76_by_hand(RICH_FORWARD, 99_000.0, T_BTC, 0.0, sigma, True)
    put = black76_by_hand(RICH_FORWARD, 99_000.0, T_BTC, 0.0, sigma, False)
    assert out["atm_straddle_price"] == pytest.approx(call + put, rel=1e-12)
    assert out["expected_move"] == pytest.approx(RICH_FORWARD * sigma * math.sqrt(T_BTC), rel=1e-8)
    assert (out["call_buildup_otm"], out["put_buildup_otm"]) == (7 * 10, 9 * 100)
    assert (out["total_call_oi"], out["total_put_oi"]) == (110 * n, 300 * n)


def test_a_carry_chain_is_at_the_money_against_its_carry_forward() -> None:
    """NIFTY at 24,010 with 5.25 days at 6.5 %: F = 24,010·e^{rT} = 24,032.45, so the ATM
    strike of a 50-point chain is 24,050 (17.55 away), not spot's 24,000 (10 away)."""
    chain = build_chain()
    out = enrich_chain(chain, processed_at=STAMP)
    T = (5 * 86400 + 6 * 3600) / (365 * 86400)
    forward = 24_010.0 * math.exp(0.065 * T)
    assert (out["forward"], out["forward_source"]) == (pytest.approx(forward, rel=1e-15), "carry")
    assert out["atm_strike"] == 24_050.0
    i = chain["strikes"].index(24_050.0)
    assert out["atm_straddle_price"] == pytest.approx(
        chain["calls"][i]["last"] + chain["puts"][i]["last"], rel=1e-12
    )


# -- fractional open interest and volume (coins) ---------------------------------------------


def test_fractional_oi_and_volume_are_summed_without_rounding_to_whole_coins() -> None:
    """Deribit counts BTC options in coins, 0.1 at a time: 0.3 BTC must not become 0."""
    n = STRIKES.size
    before = [round(0.1 * (i + 1), 1) for i in range(n)]  # 0.1 … 1.6
    previous = rich_chain(before, [0.3] * n)
    current = rich_chain([round(v + 0.1, 1) for v in before], [0.2] * n, seq=2)
    for i, (call, put) in enumerate(zip(current["calls"], current["puts"], strict=True)):
        call["volume"] = 0.1 if i < 3 else 0  # 0.1 + 0.1 + 0.1 is 0.30000000000000004
        put["volume"] = 0.1
    out = enrich_chain(current, previous, conventions=STANDARD, processed_at=STAMP)
    assert [r["oi"] for r in out["calls"]] == [round(v + 0.1, 1) for v in before]
    assert [r["oi_change"] for r in out["calls"]] == [0.1] * n  # not 0.09999999999999987
    assert [r["oi_change"] for r in out["puts"]] == [-0.1] * n
    assert out["total_call_oi"] == 15.2  # 0.2 + … + 1.7
    assert out["total_put_oi"] == 3.2
    assert out["pcr_oi"] == pytest.approx(3.2 / 15.2, rel=1e-12)
    assert out["pcr_volume"] == pytest.approx(1.6 / 0.3, rel=1e-12)
    assert (out["call_buildup_otm"], out["put_buildup_otm"]) == (0.7, -0.9)
    raw = orjson.dumps(out)
    assert b'"total_call_oi":15.2,' in raw
    assert b'"oi_change":0.1,' in raw
    assert encode_message(decode_message(Channel.ENRICHED_OPTION_CHAIN, raw)) == raw


def test_whole_counts_stay_integers_on_the_wire() -> None:
    chain = build_chain()
    out = enrich_chain(chain, build_chain(seq=6), processed_at=STAMP)
    whole = [out["total_call_oi"], out["total_put_oi"], out["call_buildup_otm"],
             *(r["oi_change"] for r in out["calls"])]  # fmt: skip
    assert all(type(v) is int for v in whole)
    assert out["call_buildup_otm"] == 0


def test_a_fractional_max_pain_is_the_hand_computed_strike() -> None:
    """Calls 0.5 BTC at every strike, puts 2.5 BTC at 105,000 only: the payout slope right of
    strike j is 0.5·(j + 1) − 2.5, first not negative at j = 4 (94,000)."""
    n = STRIKES.size
    puts = [0.0] * (n - 1) + [2.5]
    out = enrich_chain(rich_chain([0.5] * n, puts), conventions=STANDARD, processed_at=STAMP)
    assert out["max_pain_strike"] == 94_000.0
    assert (out["total_call_oi"], out["total_put_oi"]) == (8, 2.5)
