"""Series metrics read from enriched chains, and the ATM IV rule."""

from __future__ import annotations

import pytest

from analytics_service.calc.atm import atm_iv, chain_atm_iv, mean_iv
from analytics_service.calc.series import (
    Metric,
    metric_value,
    parse_metrics,
    series_point,
    source_fields,
)
from analytics_service.calc.times import wire_ms
from common.api.analytics import SERIES_METRICS
from optionsmath import enrich_chain
from tests.support.chains import TIMESTAMP, build_chain


def test_metric_names_match_the_api() -> None:
    assert tuple(m.value for m in Metric) == SERIES_METRICS


def test_parse_metrics() -> None:
    assert parse_metrics(None) == tuple(Metric)
    assert parse_metrics("atm_iv, pcr_oi,atm_iv") == (Metric.PCR_OI, Metric.ATM_IV)
    for bad in ("", "pcr_oi,", "pcr", "PCR_OI"):
        with pytest.raises(ValueError, match="unknown metrics"):
            parse_metrics(bad)


def test_atm_iv_is_the_mean_or_the_side_known() -> None:
    calls = [{"strike": 95.0, "iv": 0.3}, {"strike": 100.0, "iv": 0.20}]
    puts = [{"strike": 100.0, "iv": 0.22}]
    assert atm_iv(calls, puts, 100.0) == pytest.approx(0.21)  # (0.20 + 0.22) / 2
    assert atm_iv(calls, [{"strike": 100.0, "iv": None}], 100.0) == 0.20
    assert atm_iv([], puts, 100.0) == 0.22
    assert atm_iv(calls, puts, 105.0) is None  # not listed
    assert atm_iv(calls, puts, None) is None
    assert mean_iv(None, None) is None


def test_projected_chain_reads_the_stored_atm_iv() -> None:
    assert chain_atm_iv({"atm_iv": 0.18}) == 0.18
    assert chain_atm_iv({"atm_iv": None}) is None
    assert chain_atm_iv({}) is None


def test_enriched_chain_metrics_are_its_fields() -> None:
    raw = build_chain()
    for row in raw["puts"]:
        row["oi"] *= 2  # every put strike twice the call OI: PCR(OI) exactly 2
    chain = enrich_chain(raw, processed_at=TIMESTAMP)
    assert metric_value(chain, Metric.PCR_OI) == 2.0
    assert metric_value(chain, Metric.MAX_PAIN) == chain["max_pain_strike"]
    assert metric_value(chain, Metric.ATM_STRADDLE) == chain["atm_straddle_price"]
    assert metric_value(chain, Metric.PCR_VOLUME) == chain["pcr_volume"]
    # from the rows at atm_strike 24050 (the strike nearest the forward 24,032.45; spot
    # 24010): the worker's atm_iv, ≈ the smile's
    # 0.15 − 0.1·ln(24050/24010) + 0.5·ln(24050/24010)² = 0.1498349
    assert chain["atm_strike"] == 24_050.0
    assert metric_value(chain, Metric.ATM_IV) == pytest.approx(chain["atm_iv"], rel=1e-15)
    assert chain["atm_iv"] == pytest.approx(0.1498349, abs=1e-7)


def test_series_point_holds_the_asked_metrics() -> None:
    chain = {"pcr_oi": 1.25, "max_pain_strike": 24_000.0, "atm_iv": None, "pcr_volume": True}
    t = wire_ms("2026-11-21T04:05:00.000Z")
    point = series_point(t, chain, (Metric.PCR_OI, Metric.MAX_PAIN, Metric.ATM_IV))
    assert point == {"t": "2026-11-21T04:05:00.000Z", "pcr_oi": 1.25, "max_pain": 24_000.0,
                     "atm_iv": None}  # fmt: skip
    assert series_point(t, chain, (Metric.PCR_VOLUME,))["pcr_volume"] is None  # not a number
    assert source_fields((Metric.MAX_PAIN, Metric.ATM_STRADDLE)) == [
        "max_pain_strike", "atm_straddle_price",
    ]  # fmt: skip
