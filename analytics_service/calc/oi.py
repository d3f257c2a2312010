"""Open interest change by strike between two snapshots of one expiry."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analytics_service.calc.values import quantity, rows_by_strike
from common.messages import wire_quantity

Chain = Mapping[str, Any]


Quantity = int | float


def _oi(rows: dict[float, dict[str, Any]], strike: float) -> Quantity | None:
    row = rows.get(strike)
    return None if row is None else quantity(row.get("oi"))


def _change(before: Quantity | None, after: Quantity | None) -> Quantity | None:
    """``after − before``; a fractional change is rounded as the worker rounds its own
    (``1.7 − 1.6`` is ``0.1``, not ``0.09999999999999987``)."""
    return None if before is None or after is None else wire_quantity(after - before)


def _total(changes: list[Quantity | None]) -> Quantity | None:
    known = [c for c in changes if c is not None]
    return wire_quantity(math.fsum(known)) if known else None


def oi_change(before: Chain | None, after: Chain | None) -> dict[str, Any]:
    """Per strike (listed in either snapshot) the OI of each side then and now and the change.

    An OI missing from a snapshot (strike not listed, no snapshot, ``null``) is
    ``None`` and so is its change; totals add the changes that are known
    (``None`` when none is).
    """
    sides = {}
    for side in ("calls", "puts"):
        sides[side] = (
            rows_by_strike(before.get(side) if before else None),
            rows_by_strike(after.get(side) if after else None),
        )
    strikes = sorted({k for pair in sides.values() for rows in pair for k in rows})
    out = []
    for strike in strikes:
        row: dict[str, Any] = {"strike": strike}
        for side, prefix in (("calls", "call"), ("puts", "put")):
            old, new = (_oi(rows, strike) for rows in sides[side])
            row |= {f"{prefix}_oi_from": old, f"{prefix}_oi_to": new,
                    f"{prefix}_oi_change": _change(old, new)}  # fmt: skip
        out.append(row)
    return {
        "from_timestamp": before["timestamp"] if before else None,
        "to_timestamp": after["timestamp"] if after else None,
        "strikes": out,
        "total_call_oi_change": _total([r["call_oi_change"] for r in out]),
        "total_put_oi_change": _total([r["put_oi_change"] for r in out]),
    }
