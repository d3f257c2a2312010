"""An alert rule: what it watches, when it fires, and how it is validated.

A rule watches one ``metric`` of one product (of one expiry, or the nearest when none is
given), compares it with ``value`` by ``op`` and fires at most once per crossing, then
not again within ``cooldown_s``:

- ``above`` / ``below``: the metric enters the region (``> value`` / ``< value``); a rule
  created while the metric is already there fires on its first evaluation;
- ``crosses_above`` / ``crosses_below``: from ``≤ value`` to ``> value`` (``≥`` to ``<``)
  between two evaluations; the first evaluation only records the value;
- ``change_pct``: the metric moved by ``value`` percent or more, either way, against its
  value ``window_s`` ago.

``iv`` and ``oi_change`` are of one option: ``strike`` and ``option_type`` are required.
"""

from __future__ import annotations

import math
from enum import IntEnum, StrEnum
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from common.messages.enums import OptionType

__all__ = [
    "MAX_COOLDOWN_S",
    "MAX_WINDOW_S",
    "AlertRule",
    "Metric",
    "Op",
    "RuleError",
    "check_rule",
]

MAX_COOLDOWN_S = 7 * 86_400
MAX_WINDOW_S = 86_400
DEFAULT_COOLDOWN_S = 300
"""Five minutes: a level that flickers around its threshold fires once, not every tick."""


class Metric(StrEnum):
    """What a rule watches (docs/MATH.md defines each): the spot, the ATM IV, one option's
    IV, the PCRs, max pain, one option's OI change, the ATM straddle, the 25-delta risk
    reversal, net dealer gamma exposure, and the zero-gamma flip level."""

    SPOT = "spot"
    ATM_IV = "atm_iv"
    IV = "iv"
    PCR_OI = "pcr_oi"
    PCR_VOLUME = "pcr_volume"
    MAX_PAIN_STRIKE = "max_pain_strike"
    OI_CHANGE = "oi_change"
    ATM_STRADDLE_PRICE = "atm_straddle_price"
    RISK_REVERSAL_25D = "risk_reversal_25d"
    NET_GEX = "net_gex"
    GEX_FLIP = "gex_flip"


OPTION_METRICS = frozenset({Metric.IV, Metric.OI_CHANGE})
"""Metrics of one option: the rule names its strike and side."""


class Op(StrEnum):
    """How the metric is compared with the threshold (see the module docstring)."""

    ABOVE = "above"
    BELOW = "below"
    CROSSES_ABOVE = "crosses_above"
    CROSSES_BELOW = "crosses_below"
    CHANGE_PCT = "change_pct"


class OpCode(IntEnum):
    """``Op`` as the small integers the vectorised evaluation compares."""

    ABOVE = 0
    BELOW = 1
    CROSSES_ABOVE = 2
    CROSSES_BELOW = 3
    CHANGE_PCT = 4


OP_CODES = {op: OpCode[op.name] for op in Op}


class AlertRule(msgspec.Struct, kw_only=True, frozen=True):
    """One user's rule, as stored (``id`` and ``owner`` set by the service)."""

    id: str
    owner: str
    product: Annotated[str, Meta(min_length=1, max_length=32)]
    metric: Metric
    op: Op
    value: float
    expiry: str | None = None
    strike: float | None = None
    option_type: OptionType | None = None
    cooldown_s: Annotated[int, Meta(ge=0, le=MAX_COOLDOWN_S)] = DEFAULT_COOLDOWN_S
    window_s: Annotated[int, Meta(ge=1, le=MAX_WINDOW_S)] | None = None
    active: bool = True
    webhook_url: str | None = None
    note: Annotated[str, Meta(max_length=280)] | None = None


class RuleError(ValueError):
    """A rule that cannot be evaluated: ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def check_rule(rule: AlertRule) -> AlertRule:
    """The rule itself when its fields agree with each other, else :class:`RuleError`."""
    if not math.isfinite(rule.value):
        raise RuleError("value", "must be a finite number")
    metric = rule.metric.value
    if rule.metric in OPTION_METRICS:
        if rule.strike is None or rule.option_type is None:
            field = "strike" if rule.strike is None else "option_type"
            raise RuleError(field, f"required for the metric {metric}")
    elif rule.strike is not None or rule.option_type is not None:
        field = "strike" if rule.strike is not None else "option_type"
        raise RuleError(field, f"only for the metrics iv and oi_change, not {metric}")
    if rule.metric is Metric.SPOT and rule.expiry is not None:
        raise RuleError("expiry", "the spot has no expiry")
    if rule.strike is not None and not (math.isfinite(rule.strike) and rule.strike > 0):
        raise RuleError("strike", "must be a positive number")
    if rule.op is Op.CHANGE_PCT:
        if rule.window_s is None:
            raise RuleError("window_s", "required for the operator change_pct")
        if not rule.value > 0:
            raise RuleError("value", "a percentage move above 0 for change_pct")
    elif rule.window_s is not None:
        raise RuleError("window_s", "only for the operator change_pct")
    return rule


def rule_from(payload: dict[str, Any]) -> AlertRule:
    """A rule from a decoded JSON object (its service fills ``id`` and ``owner``), checked;
    :class:`RuleError` naming the field otherwise."""
    try:
        rule = msgspec.convert(payload, AlertRule)
    except msgspec.ValidationError as exc:
        field = _field_of(str(exc))
        raise RuleError(field, str(exc)) from None
    return check_rule(rule)


def _field_of(message: str) -> str:
    """The field msgspec's message names (``… - at `$.value```; ``… field `x```)."""
    for marker in ("`$.", "field `"):
        start = message.find(marker)
        if start >= 0:
            rest = message[start + len(marker) :]
            return rest.split("`", 1)[0].split("[", 1)[0].split(".", 1)[0]
    return "body"
