"""enrich_chain: values against hand computation, schema validity, bad rows, previous snapshot."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.messages import decode_message, encode_message
from common.names import Channel
from optionsmath import bs_greeks, bs_price, enrich_chain
from tests.support.chains import EXPIRY, RATE, TIMESTAMP, build_chain, smile

T_5D6H = (5 * 86400 + 6 * 3600) / (365 * 86400)


def small_chain() -> dict[str, Any]:
    """Three strikes, spot 24010, every option quoted ±1 around its 15 % BS price."""
    strikes = [23900.0, 24000.0, 24100.0]
    mids = {
        side: np.asarray(bs_price(24010.0, strikes, T_5D6H, RATE, 0.0, 0.15, side == "calls"))
        for side in ("calls", "puts")
    }
    oi = {"calls": [100, 200, 300], "puts": [300, 100, 50]}
    volume = {"calls": [10, 20, 30], "puts": [5, 5, 5]}
    chain: dict[str, Any] = {
        "product": "NIFTY", "expiry": EXPIRY, "spot_price": 24010.0, "strikes": strikes,
        "timestamp": TIMESTAMP, "seq": 41,
    }  # fmt: skip
    for side in ("calls", "puts"):
        chain[side] = [
            {"strike": k, "bid": float(m) - 1.0, "ask": float(m) + 1.0, "last": float(m),
             "volume": v, "oi": o}
            for k, m, v, o in zip(strikes, mids[side], volume[side], oi[side], strict=True)
        ]  # fmt: skip
    return chain


def test_summary_fields_hand_worked() -> None:
    chain = small_chain()
    out = enrich_chain(chain)
    assert out["total_call_oi"] == 600
    assert out["total_put_oi"] == 450
    assert out["pcr_oi"] == pytest.approx(450 / 600)
    assert out["pcr_volume"] == pytest.approx(15 / 60)
    # Payout: 23900 → 100·100 + 50·200 = 20000; 24000 → 100·100 + 50·100 = 15000;
    # 24100 → 100·200 + 200·100 = 40000.
    assert out["max_pain_strike"] == 24000.0
    assert out["atm_strike"] == 24000.0
    straddle = chain["calls"][1]["last"] + chain["puts"][1]["last"]  # mids are the lasts
    assert out["atm_straddle_price"] == pytest.approx(straddle, rel=1e-12)
    assert out["atm_iv"] == pytest.approx(0.15, abs=1e-9)
    assert out["time_to_expiry"] == pytest.approx(T_5D6H, rel=1e-12)
    # One standard deviation of the price at expiry, about the forward S·e^{rT} (q = 0).
    forward = 24010.0 * math.exp(RATE * T_5D6H)
    assert out["forward"] == pytest.approx(forward, rel=1e-15)
    assert out["expected_move"] == pytest.approx(forward * 0.15 * math.sqrt(T_5D6H), rel=1e-8)
    assert out["call_buildup_otm"] is None
    assert out["seq"] == 41
    assert out["product"] == "NIFTY"


def test_ivs_recover_the_smile_and_message_is_valid(chain: dict[str, Any]) -> None:
    out = enrich_chain(chain, processed_at="2026-11-21T04:00:00.250Z")
    strikes = np.array(chain["strikes"])
    for side in ("calls", "puts"):
        ivs = np.array([row["iv"] for row in out[side]])
        np.testing.assert_allclose(ivs, smile(strikes, 24010.0), atol=1e-9)
    decode_message(Channel.ENRICHED_OPTION_CHAIN, json.dumps(out))  # the contract
    json.dumps(out, allow_nan=False)  # no NaN leaks onto the wire
    assert out["processed_at"] == "2026-11-21T04:00:00.250Z"
    # Slope −0.1 per unit log-moneyness, 25-delta strikes ~±1.2 % apart: RR ≈ −0.0024.
    assert out["risk_reversal_25d"] == pytest.approx(-0.0024, abs=2e-4)
    # Curvature 0.5·k² at k ≈ 0.012 is ~7e-5 of vol: the 5-day butterfly is tiny.
    assert abs(out["butterfly_25d"]) < 2e-4


def test_a_venues_optional_fields_reach_the_enriched_chain(chain: dict[str, Any]) -> None:
    venue = {
        "venue": "deribit", "currency": "USD", "expiry_ts": "2026-11-26T08:00:00.000Z",
        "forward": 24031.5, "forward_source": "venue",
    }  # fmt: skip
    for row in chain["calls"]:
        row |= {"mark": row["last"], "mark_iv": 0.15, "bid_iv": 0.148, "ask_iv": 0.152}
    out = enrich_chain(chain | venue, processed_at="2026-11-21T04:00:00.250Z")
    assert {key: out[key] for key in venue} == venue
    call = out["calls"][0]
    assert (call["mark_iv"], call["bid_iv"], call["ask_iv"]) == (0.15, 0.148, 0.152)
    assert not {"mark", "bid_iv", "ask_iv"} & set(out["puts"][0])
    raw = orjson.dumps(out)
    decoded = decode_message(Channel.ENRICHED_OPTION_CHAIN, raw)
    assert decoded.forward == 24031.5
    assert (decoded.calls[0].bid_iv, decoded.puts[0].bid_iv) == (0.148, None)
    assert encode_message(decoded) == raw  # the venue's IVs sit where the struct has them
    plain = enrich_chain(build_chain(), processed_at="2026-11-21T04:00:00.250Z")
    # Absent, not null, for the synthetic market; its forward is spot carried at r, q.
    assert not {"venue", "currency", "expiry_ts"} & set(plain)
    assert plain["forward_source"] == "carry"
    assert plain["forward"] == pytest.approx(24010.0 * math.exp(RATE * T_5D6H), rel=1e-15)


def test_greeks_match_bs_greeks_at_the_iv(chain: dict[str, Any]) -> None:
    out = enrich_chain(chain)
    for side, is_call in (("calls", True), ("puts", False)):
        ivs = np.array([row["iv"] for row in out[side]])
        expected = bs_greeks(24010.0, np.array(chain["strikes"]), T_5D6H, RATE, 0.0, ivs, is_call)
        for name, values in expected.items():
            got = np.array([row[name] for row in out[side]])
            np.testing.assert_allclose(got, values, rtol=1e-12, err_msg=f"{side} {name}")
    put = out["puts"][7]
    assert put["delta"] < 0 < put["gamma"]
    assert put["rho"] < 0


@pytest.mark.parametrize(
    "patch",
    [
        {"bid": 200.0, "ask": 100.0},  # crossed
        {"bid": math.nan},
        {"bid": 0.0, "ask": 0.0, "last": 0.0},  # no price at all
        {"last": -5.0},
        {"ask": None},
        {"bid": "abc"},
        {"bid": 1e-9, "ask": 2e-9},  # below intrinsic for this in-the-money call
    ],
)
def test_bad_rows_give_nulls_without_touching_the_rest(
    chain: dict[str, Any], patch: dict[str, Any]
) -> None:
    good = enrich_chain(chain)
    bad = copy.deepcopy(chain)
    bad["calls"][3].update(patch)
    out = enrich_chain(bad)
    row = out["calls"][3]
    assert all(row[k] is None for k in ("iv", "delta", "gamma", "theta", "vega", "rho"))
    assert out["calls"][4] == good["calls"][4]
    assert out["puts"] == good["puts"]


def test_expired_chain_gives_null_ivs() -> None:
    chain = build_chain(timestamp="2026-11-26T10:00:00.001Z")
    out = enrich_chain(chain)
    assert out["time_to_expiry"] < 0
    assert all(r["iv"] is None for r in out["calls"] + out["puts"])
    assert out["expected_move"] is None
    assert out["atm_iv"] is None
    assert out["risk_reversal_25d"] is None
    assert out["pcr_oi"] == pytest.approx(1.0)  # OI statistics do not need a model


def test_oi_change_and_buildup_against_previous_snapshot() -> None:
    previous = small_chain()
    current = small_chain()
    current["seq"] = 42
    c, p = current["calls"], current["puts"]
    c[0].update(last=c[0]["last"] + 5, oi=150)  # price up, OI +50: long buildup
    c[1].update(last=c[1]["last"] - 5, oi=260)  # price down, OI +60: short buildup
    c[2].update(last=c[2]["last"] + 1, oi=280)  # price up, OI −20: short covering
    p[0].update(last=p[0]["last"] - 1, oi=250)  # price down, OI −50: long unwinding
    p[2].update(oi=80)  # OI +30, price unchanged: no class
    out = enrich_chain(current, previous)
    assert [r["oi_change"] for r in out["calls"]] == [50, 60, -20]
    assert [r["oi_change"] for r in out["puts"]] == [-50, 0, 30]
    assert [r["buildup"] for r in out["calls"]] == [
        "long_buildup", "short_buildup", "short_covering",
    ]  # fmt: skip
    assert [r["buildup"] for r in out["puts"]] == ["long_unwinding", None, None]
    # Forward 24032.45: OTM calls are strike 24100 (−20), OTM puts 23900 and 24000 (−50 + 0).
    assert out["call_buildup_otm"] == -20
    assert out["put_buildup_otm"] == -50


def test_new_strikes_have_no_oi_change() -> None:
    previous = build_chain(n=5)
    current = build_chain(n=7)
    out = enrich_chain(current, previous)
    changes = [r["oi_change"] for r in out["calls"]]
    assert changes[0] is None
    assert changes[-1] is None
    assert changes[1:6] == [0] * 5


@pytest.mark.parametrize(
    "previous",
    [{}, {"strikes": None}, {"strikes": ["a"], "calls": [], "puts": []},
     {"strikes": [2.0, 1.0], "calls": [{}, {}], "puts": [{}, {}]}, {"calls": [None]}],
)  # fmt: skip
def test_unusable_previous_snapshot_counts_as_none(
    chain: dict[str, Any], previous: dict[str, Any]
) -> None:
    stamp = "2026-11-21T04:00:00.300Z"
    with_bad = enrich_chain(chain, previous, processed_at=stamp)
    assert with_bad == enrich_chain(chain, None, processed_at=stamp)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"expiry": None}, "expiry"),
        ({"spot_price": None}, "unusable"),
        ({"spot_price": math.nan}, "spot_price"),
        ({"spot_price": -5.0}, "spot_price"),
        ({"strikes": []}, "strikes"),
        ({"strikes": None}, "strikes"),
        ({"calls": None}, "one row per strike"),
        ({"puts": [None] * 21}, "object"),
    ],
)
def test_message_level_errors_raise_value_error(
    chain: dict[str, Any], patch: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        enrich_chain(dict(chain, **patch))


def test_missing_field_and_unsorted_strikes(chain: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="no 'spot_price' field"):
        enrich_chain({k: v for k, v in chain.items() if k != "spot_price"})
    with pytest.raises(ValueError, match="one row per strike"):
        enrich_chain(dict(chain, calls=chain["calls"][:-1]))
    with pytest.raises(ValueError, match="increasing"):
        enrich_chain(dict(chain, strikes=list(reversed(chain["strikes"]))))


GARBAGE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.none(),
    st.booleans(),
    st.text(max_size=5),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 41), st.sampled_from(["bid", "ask", "last", "volume", "oi"]), GARBAGE
        ),
        min_size=1,
        max_size=12,
    )
)
def test_garbage_rows_never_raise_and_never_leak_nan(edits: list[tuple[int, str, Any]]) -> None:
    chain = build_chain()
    previous = build_chain(seq=6)
    for index, field, value in edits:
        side = "calls" if index < 21 else "puts"
        chain[side][index % 21][field] = value
    out = enrich_chain(chain, previous)
    json.dumps(out, allow_nan=False)
    touched = {(i < 21, i % 21) for i, _, _ in edits}
    strikes = np.array(chain["strikes"])
    expected = smile(strikes, 24010.0)
    for side, is_call in (("calls", True), ("puts", False)):
        for j, row in enumerate(out[side]):
            if (is_call, j) not in touched:
                assert row["iv"] == pytest.approx(expected[j], abs=1e-9)
