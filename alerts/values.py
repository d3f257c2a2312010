"""Each rule's metric read from an enriched message: the vector ``evaluate`` takes.

An enriched chain gives every metric but ``spot`` for the rules of its expiry (and, when
it is the product's nearest expiry, for the rules that name none); an underlying tick
gives ``spot``, whatever the rule's expiry. A metric the message lacks (no ATM IV yet,
a strike not listed, no GEX) is NaN: its rules are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from alerts.evaluate import METRIC_CODES, FloatArray, RuleColumns
from alerts.rules import OPTION_METRICS, Metric

__all__ = ["chain_values", "spot_values"]

_CHAIN_FIELDS = {
    Metric.ATM_IV: "atm_iv",
    Metric.PCR_OI: "pcr_oi",
    Metric.PCR_VOLUME: "pcr_volume",
    Metric.MAX_PAIN_STRIKE: "max_pain_strike",
    Metric.ATM_STRADDLE_PRICE: "atm_straddle_price",
    Metric.RISK_REVERSAL_25D: "risk_reversal_25d",
    Metric.NET_GEX: "net_gex",
    Metric.GEX_FLIP: "gex_flip",
}
"""The metrics that are one field of the enriched chain."""
_OPTION_FIELDS = {Metric.IV: "iv", Metric.OI_CHANGE: "oi_change"}
_SPOT = METRIC_CODES[Metric.SPOT]


def _number(value: Any) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number else np.nan


def _applies(rules: RuleColumns, expiry: str, nearest: bool) -> np.ndarray:
    mine: np.ndarray = rules.expiry_key == expiry
    return (mine | (rules.expiry_key == "")) if nearest else mine


def _option_values(
    rules: RuleColumns, chain: Mapping[str, Any], metric: Metric, out: FloatArray
) -> None:
    """Fill ``out`` for the rules of one option metric from the chain's rows (its
    ``strikes`` ascending, as the messages keep them); an unlisted strike gives NaN."""
    mine = np.flatnonzero(rules.metric == METRIC_CODES[metric])
    strikes = np.asarray(chain["strikes"], dtype=np.float64)
    if not mine.size or not strikes.size:
        out[mine] = np.nan
        return
    field = _OPTION_FIELDS[metric]
    # The enricher's own rows: numbers or null (None becomes NaN).
    calls = np.array([r.get(field) for r in chain["calls"]], dtype=np.float64)
    puts = np.array([r.get(field) for r in chain["puts"]], dtype=np.float64)
    wanted = rules.strike[mine]
    at = np.clip(np.searchsorted(strikes, wanted), 0, strikes.size - 1)
    picked = np.where(rules.is_call[mine], calls[at], puts[at])
    out[mine] = np.where(strikes[at] == wanted, picked, np.nan)


def chain_values(rules: RuleColumns, chain: Mapping[str, Any], *, nearest: bool) -> FloatArray:
    """Each rule's value in this enriched chain (NaN where it does not apply or is absent);
    ``nearest``: the chain is its product's nearest expiry."""
    per_metric = np.full(len(Metric), np.nan)
    for metric, field in _CHAIN_FIELDS.items():
        per_metric[METRIC_CODES[metric]] = _number(chain.get(field))
    values = per_metric[rules.metric.astype(np.intp)]
    for metric in OPTION_METRICS:
        _option_values(rules, chain, metric, values)
    values[rules.metric == _SPOT] = np.nan  # spot comes from the underlying ticks
    values[~_applies(rules, str(chain["expiry"]), nearest)] = np.nan
    return values


def spot_values(rules: RuleColumns, tick: Mapping[str, Any]) -> FloatArray:
    """Each ``spot`` rule's value in an underlying tick; NaN for the others."""
    return np.where(rules.metric == _SPOT, _number(tick.get("price")), np.nan)
