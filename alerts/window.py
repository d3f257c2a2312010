"""Each ``change_pct`` rule's value ``window_s`` ago, from a few samples per rule.

A rule keeps ``SLOTS`` samples ``(time, value)`` in a ring, taking a new one when the
newest is ``window_s / PER_WINDOW`` old or older; its base is the newest sample at least
``window_s`` old. The ring spans ``SLOTS − 1 = PER_WINDOW + 1`` intervals, so a sample
that old is always still there: the base is the value between ``window_s`` and
``window_s·(1 + 1/PER_WINDOW)`` ago (12.5 % of the window late at most, plus the gap
between messages), whatever the message rate, in a fixed 20 numbers per rule. Until a
sample is that old the base is NaN and the rule cannot fire. Vectorised over the rules
of a product like :func:`alerts.evaluate.evaluate`; times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from alerts.evaluate import FloatArray

__all__ = ["PER_WINDOW", "SLOTS", "Samples"]

PER_WINDOW = 8
"""Samples per window."""
SLOTS = PER_WINDOW + 2


@dataclass(frozen=True, slots=True)
class Samples:
    """Per ``change_pct`` rule (rows, in the order of :attr:`RuleColumns.change`): ``SLOTS``
    sample times (−inf: empty) and values, and the newest slot."""

    times: FloatArray
    values: FloatArray
    head: NDArray[np.intp]

    @classmethod
    def empty(cls, n: int) -> Samples:
        return cls(
            np.full((n, SLOTS), -np.inf), np.full((n, SLOTS), np.nan), np.zeros(n, dtype=np.intp)
        )

    def base(self, now_s: float, window_s: FloatArray) -> FloatArray:
        """Each rule's newest sample at least ``window_s`` old at ``now_s``; NaN when none
        (or its window is NaN: not a ``change_pct`` rule)."""
        old = self.times <= (now_s - window_s)[:, None]
        newest = np.argmax(np.where(old, self.times, -np.inf), axis=1)
        picked = self.values[np.arange(len(newest)), newest]
        base: FloatArray = np.where(old.any(axis=1), picked, np.nan)
        return base

    def add(self, now_s: float, values: FloatArray, window_s: FloatArray) -> Samples:
        """The samples with ``values`` taken at ``now_s`` where a rule's newest sample is
        ``window_s / PER_WINDOW`` old or older (NaN values and windows are not taken)."""
        rows = np.arange(len(self.head))
        due = (
            np.isfinite(values) & np.isfinite(window_s)
            & (now_s - self.times[rows, self.head] >= window_s / PER_WINDOW)
        )  # fmt: skip
        head = np.where(due, (self.head + 1) % SLOTS, self.head)
        times, kept = self.times.copy(), self.values.copy()
        times[rows[due], head[due]] = now_s
        kept[rows[due], head[due]] = values[due]
        return Samples(times, kept, head)
