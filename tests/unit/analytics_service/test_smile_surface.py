"""Smile, surface and term structure from chains."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pytest

from analytics_service.calc.smile import otm_iv, smile, smile_points
from analytics_service.calc.surface import surface_from_cache, surface_from_chains, term_structure
from common.products import DERIBIT, ProductConventions
from optionsmath import enrich_chain
from tests.support.chains import EXPIRY, TIMESTAMP, build_chain

TEN_UTC = ProductConventions(expiry_time=dt.time(10, 0))
"""The NSE products' conventions: options expire at 10:00 UTC."""


def rows(ivs: Mapping[float, float | None]) -> list[dict[str, Any]]:
    return [{"strike": k, "iv": v} for k, v in ivs.items()]


def test_otm_side_is_the_put_below_the_forward_and_the_call_at_or_above() -> None:
    assert otm_iv(95.0, 100.0, 0.30, 0.25) == 0.25
    assert otm_iv(100.0, 100.0, 0.30, 0.25) == 0.30  # at the money: the call
    assert otm_iv(105.0, 100.0, 0.30, 0.25) == 0.30
    assert otm_iv(105.0, 100.0, None, 0.25) is None  # the ITM put is not substituted
    assert otm_iv(105.0, None, 0.30, 0.25) is None
    assert otm_iv(105.0, 0.0, 0.30, 0.25) is None


def test_smile_points_by_hand() -> None:
    calls = rows({90.0: 0.31, 100.0: 0.25, 110.0: 0.22})
    puts = rows({90.0: 0.33, 100.0: None, 120.0: 0.24})
    points = smile_points(calls, puts, 100.0)
    # moneyness ln(K/F): ln 0.9 = −0.1053605, ln 1.1 = 0.0953102, ln 1.2 = 0.1823216
    assert points == [
        {"strike": 90.0, "moneyness": pytest.approx(-0.1053605, abs=1e-7), "call_iv": 0.31,
         "put_iv": 0.33, "otm_iv": 0.33},
        {"strike": 100.0, "moneyness": 0.0, "call_iv": 0.25, "put_iv": None, "otm_iv": 0.25},
        {"strike": 110.0, "moneyness": pytest.approx(0.0953102, abs=1e-7), "call_iv": 0.22,
         "put_iv": None, "otm_iv": 0.22},
        {"strike": 120.0, "moneyness": pytest.approx(0.1823216, abs=1e-7), "call_iv": None,
         "put_iv": 0.24, "otm_iv": None},
    ]  # fmt: skip
    no_forward = smile_points(calls, puts, None)
    assert {(p["moneyness"], p["otm_iv"]) for p in no_forward} == {(None, None)}


def test_smile_of_an_enriched_chain_recovers_the_smile() -> None:
    chain = enrich_chain(build_chain(), processed_at=TIMESTAMP)
    got = smile(chain)
    # Spot 24,010 carried 5.25 days at 6.5 %: F = 24,010·e^{0.065·5.25/365} = 24,032.45;
    # the strike nearest it is 24,050.
    forward = 24_010.0 * math.exp(0.065 * 5.25 / 365)
    assert got["forward"] == pytest.approx(forward, rel=1e-12)
    assert (got["timestamp"], got["spot"], got["atm_strike"]) == (TIMESTAMP, 24_010.0, 24_050.0)
    by_strike = {p["strike"]: p for p in got["points"]}
    # strike 24000 < F: the put's IV; the chain is priced on
    # σ(K) = 0.15 − 0.1·ln(K/S) + 0.5·ln(K/S)², ln(24000/24010) = −0.00041658 → 0.1500417
    assert by_strike[24_000.0]["moneyness"] == pytest.approx(-0.0013516, abs=1e-7)  # ln(K/F)
    assert by_strike[24_000.0]["otm_iv"] == by_strike[24_000.0]["put_iv"]
    assert by_strike[24_000.0]["otm_iv"] == pytest.approx(0.1500417, abs=1e-7)
    assert by_strike[24_050.0]["otm_iv"] == by_strike[24_050.0]["call_iv"]
    assert len(got["points"]) == 21


def put_ivs_apart(chain: dict[str, Any]) -> dict[str, Any]:
    """The chain with every put's IV 0.01 above its call's, so the side picked shows."""
    for row in chain["puts"]:
        row["iv"] += 0.01
    return chain


def test_a_strike_between_spot_and_forward_is_otm_on_the_put_side() -> None:
    """Spot 24,040, F = 24,040·e^{0.065·5.25/365} = 24,062.49: strike 24,050 is above spot
    but below the forward, so its OTM option is the put (at spot it would be the call)."""
    chain = put_ivs_apart(enrich_chain(build_chain(spot=24_040.0), processed_at=TIMESTAMP))
    got = smile(chain)
    assert got["forward"] == pytest.approx(24_062.49, abs=0.01)
    point = {p["strike"]: p for p in got["points"]}[24_050.0]
    assert point["otm_iv"] == point["put_iv"] == pytest.approx(point["call_iv"] + 0.01)
    assert point["moneyness"] == pytest.approx(math.log(24_050.0 / got["forward"]), rel=1e-12)
    assert point["moneyness"] < 0


def test_a_chain_stored_without_a_forward_is_taken_at_spot() -> None:
    chain = put_ivs_apart(enrich_chain(build_chain(spot=24_040.0), processed_at=TIMESTAMP))
    del chain["forward"], chain["forward_source"]  # as stored before issue 14
    got = smile(chain)
    assert got["forward"] is None
    point = {p["strike"]: p for p in got["points"]}[24_050.0]
    assert point["otm_iv"] == point["call_iv"]
    assert point["moneyness"] == pytest.approx(math.log(24_050.0 / 24_040.0), rel=1e-12)


def chain_doc(expiry: str, ts: str, seq: int, spot: float, ivs: dict[float, float]) -> Any:
    return {
        "expiry": expiry, "timestamp": ts, "seq": seq, "spot_price": spot,
        "atm_strike": min(ivs, key=lambda k: abs(k - spot)),
        "calls": rows(ivs), "puts": rows({k: v + 0.01 for k, v in ivs.items()}),
    }  # fmt: skip


def test_surface_from_chains_takes_each_chains_forward() -> None:
    """Spot 100 for both expiries; the far one's forward is 103: strikes 100 and 102 are
    below it, so its OTM IV there is the put's (the call's + 0.01)."""
    near = chain_doc("2026-11-26", "2026-11-21T04:00:01.000Z", 5, 100.0, {100.0: 0.25})
    far = chain_doc("2026-12-31", "2026-11-21T04:00:00.000Z", 9, 100.0,
                    {100.0: 0.20, 102.0: 0.19, 104.0: 0.18})  # fmt: skip
    far["forward"] = 103.0
    got = surface_from_chains([far, near])
    assert got["strikes"] == [100.0, 102.0, 104.0]
    assert got["iv"] == [[0.25, None, None], [pytest.approx(0.21), pytest.approx(0.20), 0.18]]


def test_surface_from_chains_unites_strikes() -> None:
    near = chain_doc("2026-11-26", "2026-11-21T04:00:01.000Z", 5, 100.0, {95.0: 0.30, 100.0: 0.25})
    far = chain_doc("2026-12-31", "2026-11-21T04:00:00.000Z", 9, 100.0, {100.0: 0.20, 105.0: 0.19})
    got = surface_from_chains([far, near])
    assert got == {
        "timestamp": "2026-11-21T04:00:01.000Z",  # the newest chain's
        "spot": 100.0,
        "expiries": ["2026-11-26", "2026-12-31"],
        "strikes": [95.0, 100.0, 105.0],
        # 95 < spot: put IV (call + 0.01); 100 and 105: call IV; unlisted: None
        "iv": [[0.31, 0.25, None], [None, 0.20, 0.19]],
    }
    assert surface_from_chains([]) == {"timestamp": None, "spot": None, "expiries": [],
                                       "strikes": [], "iv": []}  # fmt: skip


def test_cached_surface_is_checked_and_reshaped() -> None:
    cached = {"product": "NIFTY", "timestamp": "2026-11-21T04:00:00.000Z", "spot": 100.5,
              "expiries": ["2026-11-26"], "strikes": [95, 100.0], "iv": [[0.3, None]],
              "extra": 1}  # fmt: skip
    assert surface_from_cache(cached) == {
        "timestamp": "2026-11-21T04:00:00.000Z", "spot": 100.5, "expiries": ["2026-11-26"],
        "strikes": [95.0, 100.0], "iv": [[0.3, None]],
    }  # fmt: skip
    for broken in ({"iv": [[0.3]]}, {"strikes": [95, "x"]}, {"expiries": None}, {"iv": [1, 2]}):
        with pytest.raises(ValueError, match="cached surface"):
            surface_from_cache({**cached, **broken})


def test_term_structure_days_and_atm_iv() -> None:
    near = chain_doc("2026-11-26", "2026-11-21T04:00:00.000Z", 5, 100.0, {100.0: 0.25})
    far = chain_doc("2026-12-31", "2026-11-21T16:00:00.000Z", 9, 101.0, {100.0: 0.20, 102.0: 0.2})
    got = term_structure([far, near], TEN_UTC)
    assert got["timestamp"] == "2026-11-21T16:00:00.000Z"
    assert got["points"] == [
        # 04:00 on the 21st to 10:00 on the 26th: 5 days 6 hours; ATM IV (0.25 + 0.26) / 2
        {"expiry": "2026-11-26", "days": 5.25, "atm_strike": 100.0,
         "atm_iv": pytest.approx(0.255)},
        # 16:00 on the 21st to 10:00 on Dec 31: 39 days 18 hours; ATM 100 of spot 101
        {"expiry": "2026-12-31", "days": 39.75, "atm_strike": 100.0,
         "atm_iv": pytest.approx(0.205)},
    ]  # fmt: skip


def test_real_chain_term_point() -> None:
    chain = enrich_chain(build_chain(), processed_at=TIMESTAMP)
    (point,) = term_structure([chain], TEN_UTC)["points"]
    assert point["expiry"] == EXPIRY
    assert point["days"] == 5.25  # the chain's T is 5.25 / 365 years
    assert chain["time_to_expiry"] == pytest.approx(5.25 / 365, rel=1e-12)
    assert point["atm_iv"] == pytest.approx(chain["atm_iv"], rel=1e-15)


def test_btc_term_structure_runs_to_0800_utc_or_the_chains_expiry_ts() -> None:
    near = {**chain_doc("2026-11-26", "2026-11-21T04:00:00.000Z", 5, 100.0, {100.0: 0.5}),
            "product": "BTC"}  # fmt: skip
    far = {**chain_doc("2026-12-25", "2026-11-21T04:00:00.000Z", 6, 100.0, {100.0: 0.6}),
           "product": "BTC", "expiry_ts": "2026-12-25T08:01:00.000Z"}  # fmt: skip
    points = term_structure([far, near], DERIBIT)["points"]
    # 04:00 on the 21st to 08:00 on the 26th: 5 days 4 hours
    assert [p["days"] for p in points] == [5 + 4 / 24, pytest.approx(34 + 241 / 1440, abs=1e-12)]
