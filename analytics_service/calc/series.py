"""Chain statistics over time: which stored field each series metric reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from analytics_service.calc.atm import chain_atm_iv
from analytics_service.calc.times import wire
from analytics_service.calc.values import number


class Metric(StrEnum):
    """Series metrics, in the order responses list them."""

    PCR_OI = "pcr_oi"
    PCR_VOLUME = "pcr_volume"
    MAX_PAIN = "max_pain"
    ATM_STRADDLE = "atm_straddle"
    ATM_IV = "atm_iv"
    NET_GEX = "net_gex"
    CALL_WALL = "call_wall"
    PUT_WALL = "put_wall"
    GEX_FLIP = "gex_flip"


SOURCE_FIELD = {
    Metric.PCR_OI: "pcr_oi",
    Metric.PCR_VOLUME: "pcr_volume",
    Metric.MAX_PAIN: "max_pain_strike",
    Metric.ATM_STRADDLE: "atm_straddle_price",
    Metric.ATM_IV: "atm_iv",
    Metric.NET_GEX: "net_gex",
    Metric.CALL_WALL: "call_wall",
    Metric.PUT_WALL: "put_wall",
    Metric.GEX_FLIP: "gex_flip",
}
"""The enriched chain field behind each metric."""


def parse_metrics(text: str | None) -> tuple[Metric, ...]:
    """``pcr_oi,atm_iv`` → metrics in canonical order (all of them for ``None``).

    ``ValueError`` names an unknown or missing metric.
    """
    if text is None:
        return tuple(Metric)
    wanted = {name.strip() for name in text.split(",")}
    unknown = sorted(wanted - {m.value for m in Metric})
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {', '.join(Metric)}")
    return tuple(m for m in Metric if m in wanted)


def source_fields(metrics: Sequence[Metric]) -> list[str]:
    """The chain fields to load for ``metrics`` (a projection: no rows)."""
    return [SOURCE_FIELD[m] for m in metrics]


def metric_value(chain: Mapping[str, Any], metric: Metric) -> float | None:
    """The value of ``metric`` in an enriched chain (``None`` when null or missing)."""
    if metric is Metric.ATM_IV:
        return chain_atm_iv(chain)
    return number(chain.get(SOURCE_FIELD[metric]))


def series_point(
    bucket_start_ms: int, chain: Mapping[str, Any], metrics: Sequence[Metric]
) -> dict[str, Any]:
    """``{t, <metric>: value…}`` of one bucket, ``t`` its start."""
    point: dict[str, Any] = {"t": wire(bucket_start_ms)}
    for metric in metrics:
        point[metric.value] = metric_value(chain, metric)
    return point
