"""Chain rows as float matrices: columns bid, ask, last, volume, oi; option prices from quotes.

A value that is not a finite, non-negative number becomes NaN (and so does a
volume or OI above :data:`MAX_COUNT`), so one bad field costs only its own statistic.
Volume and OI may be fractional (a venue counting in coins).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from optionsmath.chain_metrics import FloatArray

ROW_FIELDS = ("bid", "ask", "last", "volume", "oi")
_ROW_VALUES = operator.itemgetter(*ROW_FIELDS)
MAX_COUNT = 1e12
"""Volume or OI above this is corrupt data (and sums of such stay exact in float64)."""
BID, ASK, LAST, VOLUME, OI = range(5)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _raw_matrix(rows: Sequence[Any]) -> FloatArray:
    """``(n, 5)`` floats of the rows' fields, not yet sanitised; ``ValueError`` for a row that
    is not an object."""
    try:
        return np.array(list(map(_ROW_VALUES, rows)), dtype=np.float64).reshape(len(rows), 5)
    except (TypeError, ValueError, KeyError):
        # The slow path, for rows with missing or non-numeric fields.
        if not all(isinstance(r, Mapping) for r in rows):
            raise ValueError("every call and put row must be an object") from None
        return np.array(
            [[_number(r.get(f)) for f in ROW_FIELDS] for r in rows], dtype=np.float64
        ).reshape(len(rows), 5)


def _sanitise(matrix: FloatArray) -> FloatArray:
    """NaN, in place, for anything that is not a finite, non-negative number, and for counts
    above :data:`MAX_COUNT`, so no later sum can overflow or lose integers."""
    with np.errstate(invalid="ignore"):
        bad = ~(matrix >= 0.0) | ~np.isfinite(matrix)
        bad[:, VOLUME:] |= matrix[:, VOLUME:] > MAX_COUNT
    matrix[bad] = np.nan
    return matrix


def stacked_rows(
    chains: Sequence[Mapping[str, Any]],
) -> tuple[FloatArray, list[Any], list[ValueError | None]]:
    """The rows of ``chains`` (calls then puts, chain after chain) as one sanitised matrix.

    Columns bid, ask, last, volume, oi. Also returns the row objects in the
    same order, and per chain the ``ValueError`` its rows raise (a row that is
    not an object); such a chain's rows are left out of both. Values are
    converted one by one, so a row's floats do not depend on the rows it is
    stacked with: one conversion for the whole batch, side by side only when
    that fails (a missing or non-numeric field somewhere).
    """
    rows = [row for chain in chains for side in ("calls", "puts") for row in chain[side]]
    errors: list[ValueError | None] = [None] * len(chains)
    try:
        matrix = np.array(list(map(_ROW_VALUES, rows)), dtype=np.float64).reshape(len(rows), 5)
    except (TypeError, ValueError, KeyError):
        parts: list[FloatArray] = []
        rows = []
        for i, chain in enumerate(chains):
            try:
                parts += [_raw_matrix(chain["calls"]), _raw_matrix(chain["puts"])]
            except ValueError as exc:
                errors[i] = exc
                continue
            rows += [*chain["calls"], *chain["puts"]]
        matrix = np.concatenate(parts) if parts else np.empty((0, 5))
    return _sanitise(matrix), rows, errors


def clean_fields(values: FloatArray) -> dict[str, float | int | None]:
    """A bad row's quote fields as they can go on the wire: the valid ones, else ``None``."""
    bid, ask, last, volume, oi = values.tolist()
    return {
        "bid": None if bid != bid else bid,
        "ask": None if ask != ask else ask,
        "last": None if last != last else last,
        "volume": None if volume != volume else _quantity(volume),
        "oi": None if oi != oi else _quantity(oi),
    }


def _quantity(value: float) -> int | float:
    """A valid volume or OI as the wire has it: an ``int`` when whole, else the fraction."""
    return int(value) if value == int(value) else value


def quote_price(m: FloatArray) -> FloatArray:
    """Mid of a two-sided quote, else a positive last; NaN for crossed or invalid rows."""
    bid, ask, last = m[:, BID], m[:, ASK], m[:, LAST]
    sane = (bid >= 0.0) & (ask >= 0.0) & (last >= 0.0)  # False for NaN too
    two_sided = (bid > 0.0) & (ask > 0.0)
    price = np.where(two_sided, 0.5 * (bid + ask), np.where(last > 0.0, last, np.nan))
    return np.where(sane & ~(two_sided & (bid > ask)), price, np.nan)


def traded_price(m: FloatArray, price: FloatArray) -> FloatArray:
    """The price buildup compares: ``last`` when positive, else the quote ``price``."""
    return np.where(m[:, LAST] > 0.0, m[:, LAST], price)
