"""The fields of a chain message the math uses besides its rows, checked once."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.messages.enums import ForwardSource
from common.products import ConventionsRegistry, ProductConventions
from common.timestamps import parse_expiry, parse_ts
from optionsmath.chain_metrics import FloatArray


@dataclass(frozen=True, slots=True)
class MessageFields:
    """What the math takes from a chain message besides its rows."""

    strikes: FloatArray
    spot: float
    T: float
    """Years (ACT/365) to the venue's ``expiry_ts``, else to the product's expiry instant."""
    conventions: ProductConventions
    forward: float
    """The message's own forward (a venue's), NaN when it carries none."""
    forward_source: ForwardSource | None
    """Where the message's own forward comes from (venue unless it says); None without one."""


def message_fields(chain: Mapping[str, Any], registry: ConventionsRegistry) -> MessageFields:
    """The chain's fields the math uses; ``ValueError`` naming what makes it unusable."""
    try:
        strikes = np.asarray(chain["strikes"], dtype=np.float64)
        spot = float(chain["spot_price"])
        conventions = registry.get(chain["product"])
        expiry_ts = parse_ts(chain["expiry_ts"]) if "expiry_ts" in chain else None
        T = conventions.years_to_expiry(
            parse_ts(chain["timestamp"]), parse_expiry(chain["expiry"]), expiry_ts
        )
        sides = (chain["calls"], chain["puts"])
    except KeyError as exc:
        raise ValueError(f"chain message has no {exc} field") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"unusable chain message: {exc}") from exc
    if not (math.isfinite(spot) and spot > 0.0):
        raise ValueError(f"spot_price must be a positive number, got {spot}")
    forward, source = _own_forward(chain)
    if strikes.ndim != 1 or strikes.size == 0 or not np.isfinite(strikes).all():
        raise ValueError("strikes must be a non-empty list of numbers")
    if (strikes[1:] <= strikes[:-1]).any():  # finite: the sign of each difference
        raise ValueError("strikes must be strictly increasing")
    for rows in sides:
        if not isinstance(rows, Sequence) or len(rows) != strikes.size:
            raise ValueError("calls and puts must have one row per strike")
    return MessageFields(strikes, spot, T, conventions, forward, source)


def _own_forward(chain: Mapping[str, Any]) -> tuple[float, ForwardSource | None]:
    """The message's own forward and its source; ``(NaN, None)`` without one."""
    if "forward" not in chain:
        return math.nan, None
    value = chain["forward"]
    if (
        isinstance(value, bool) or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0.0)
    ):  # fmt: skip
        raise ValueError(f"forward must be a positive number, got {value!r}")
    try:
        return float(value), ForwardSource(chain.get("forward_source", ForwardSource.VENUE))
    except ValueError:
        raise ValueError(f"unknown forward_source {chain['forward_source']!r}") from None
