"""Sequence checks per (channel, product): gaps are counted and logged, never fatal."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

MAX_GAP = 100_000
"""A forward jump larger than this, or any step back beyond it, is a new publisher run.

The feed numbers each run from its start instant in microseconds, so a restart
jumps by millions: that is a reset of the sequence, not millions of lost messages.
"""


class Step(enum.Enum):
    FIRST = "first"
    NEXT = "next"
    GAP = "gap"
    REPEAT = "repeat"
    """At or below the last seq seen: a duplicate or a late message."""
    RESET = "reset"


@dataclass(slots=True)
class Sequencer:
    """The last seq seen per (channel, product) and what each new one means."""

    last: dict[tuple[str, str], int] = field(default_factory=dict)

    def check(self, channel: str, product: str, seq: int) -> tuple[Step, int]:
        """Classify ``seq``; the int is the number of messages missing (``GAP`` only)."""
        key = (channel, product)
        last = self.last.get(key)
        if last is None:
            self.last[key] = seq
            return Step.FIRST, 0
        delta = seq - last
        if delta == 1:
            self.last[key] = seq
            return Step.NEXT, 0
        if 1 < delta <= MAX_GAP:
            self.last[key] = seq
            return Step.GAP, delta - 1
        if -MAX_GAP <= delta <= 0:
            return Step.REPEAT, 0
        self.last[key] = seq
        return Step.RESET, 0
