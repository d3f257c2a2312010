"""The reference price of one product from several sources: pure, on an injected clock.

Each source (a venue's ``market:underlying`` ticks, or the spot implied by put-call parity)
keeps its last price, its origin timestamp and the monotonic time it was received. At each
:meth:`ProductBook.evaluate` (``now`` in monotonic seconds) every source gets a state:

- ``down``: its venue reports itself down;
- ``stale``: nothing received for longer than its staleness limit (``stale_after_s``);
- ``quarantined``: it has been off the others' consensus by more than ``deviation_bps`` for
  longer than ``window_s``; it is let back once it has agreed again for ``window_s``;
- ``live``: fresh and trusted: part of the price.

The consensus, over the fresh sources (live or quarantined): with two, they agree when
``|a − b| ≤ bps·mean``; with three or more, it is their median ``m``, and it holds when at
least two and at least half of them lie within ``bps·m`` of it (then the others are off).
Without a consensus (two that disagree, or a split), no source is judged: no quarantine
starts or ends, so an outvoted source needs a majority to be let out, and two disagreeing
sources are not a majority against either.

The reference, from the live sources: none, the last good value is kept and the product
is ``stale``; one, its price; two, their mean when they agree, else the last good value
is kept and the product is ``suspect``; three or more, their median when a consensus
holds among them, else ``suspect``. Its timestamp is the newest origin timestamp of the
live sources used, never earlier than the previous one (a held value keeps its own), so
a held reference ages downstream by itself. A bad print is never followed: a single
deviating source among three is outside the median from its first tick, and a pair that
disagrees holds the last value.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from common.messages.enums import SourceState

__all__ = ["ProductBook", "ProductState", "Reference", "Rules", "Source", "Transition"]

BPS = 1e-4
"""One basis point as a fraction."""


class ProductState(StrEnum):
    """How trustworthy a product's reference is: live (from live sources), suspect (two or
    more live sources disagree: the last good value is held), stale (no live source: held)."""

    LIVE = "live"
    SUSPECT = "suspect"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds of one product: basis points, seconds."""

    deviation_bps: float = 50.0
    window_s: float = 5.0
    stale_after_s: float = 5.0
    stale_after_by_source: Mapping[str, float] = field(default_factory=dict)

    def stale_after(self, source: str) -> float:
        """Seconds of silence after which ``source`` is stale."""
        return self.stale_after_by_source.get(source, self.stale_after_s)


@dataclass(slots=True)
class Source:
    """One source's last update and its judgement so far (times in monotonic seconds)."""

    name: str
    venue: str
    """The venue behind it (a ``down`` venue makes it down); for ``parity`` the chains'."""
    price: float
    origin: str
    """The update's own timestamp (wire format), set at its origin."""
    received_at: float
    state: SourceState | None = None
    """``None`` until first evaluated."""
    quarantined: bool = False
    off_since: float | None = None
    """Off the consensus since (while a consensus held)."""
    back_since: float | None = None
    """Quarantined and agreeing again since."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A source (``source``) or the product's reference (``source`` ``None``) changed state;
    ``before`` is ``None`` for a source seen for the first time."""

    product: str
    source: str | None
    before: str | None
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A product's reference: ``price`` (the quote currency) as of ``timestamp`` (wire format)."""

    price: float
    timestamp: str
    state: ProductState


def _off_bps(price: float, centre: float) -> float:
    return abs(price - centre) / centre / BPS


class ProductBook:
    """The sources and reference of ``product``; see the module docstring. Not thread-safe."""

    def __init__(self, product: str, rules: Rules) -> None:
        self.product = product
        self.rules = rules
        self.sources: dict[str, Source] = {}
        self.reference: Reference | None = None
        """The newest reference (the last good value while ``suspect`` or ``stale``)."""
        self.state: ProductState | None = None

    def update(self, source: str, venue: str, price: float, origin: str, now: float) -> None:
        """A new price of ``source`` (positive, finite), stamped ``origin``, received ``now``."""
        entry = self.sources.get(source)
        if entry is None:
            self.sources[source] = Source(source, venue, price, origin, now)
            return
        entry.venue, entry.price, entry.origin, entry.received_at = venue, price, origin, now

    def evaluate(self, now: float, down: frozenset[str] = frozenset()) -> list[Transition]:
        """Judge every source at ``now`` (``down``: the venues reporting down) and update the
        reference; the transitions, sources first."""
        fresh = [s for s in self.sources.values() if self._fresh(s, now, down)]
        verdicts = self._verdicts(fresh)
        changes: list[Transition] = []
        alone = len(fresh) < 2
        for entry in self.sources.values():
            reason = self._judge(entry, now, verdicts.get(entry.name), down, alone)
            state = self._state(entry, now, down)
            if state is not entry.state:
                changes.append(
                    Transition(self.product, entry.name, entry.state, state.value, reason)
                )
                entry.state = state
        changes.extend(self._reprice([s for s in fresh if not s.quarantined]))
        return changes

    # -- judging -------------------------------------------------------------------------------

    def _fresh(self, entry: Source, now: float, down: frozenset[str]) -> bool:
        silent = now - entry.received_at
        return entry.venue not in down and silent <= self.rules.stale_after(entry.name)

    def _verdicts(self, fresh: list[Source]) -> dict[str, bool]:
        """Per fresh source: True agrees with the consensus, False off it; empty without one."""
        bps = self.rules.deviation_bps
        if len(fresh) == 2:
            a, b = fresh
            if _off_bps(a.price, (a.price + b.price) / 2) * 2 <= bps:
                return {a.name: True, b.name: True}
            return {}
        if len(fresh) < 3:
            return {}
        centre = statistics.median(s.price for s in fresh)
        verdicts = {s.name: _off_bps(s.price, centre) <= bps for s in fresh}
        agreeing = sum(verdicts.values())
        return verdicts if agreeing >= 2 and 2 * agreeing >= len(fresh) else {}

    def _judge(
        self, entry: Source, now: float, agrees: bool | None, down: frozenset[str], alone: bool
    ) -> str:
        """Move ``entry``'s quarantine timers; the reason of a change of state (``alone``:
        fewer than two fresh sources)."""
        window = self.rules.window_s
        if agrees is None:  # stale, down, or no consensus: nothing to judge it by
            entry.off_since = entry.back_since = None
            if entry.venue in down:
                return f"venue {entry.venue} down"
            silent = now - entry.received_at
            if silent > self.rules.stale_after(entry.name):
                return f"silent for {silent:.3f} s"
            return "fresh, no other fresh source" if alone else "fresh, no consensus to judge by"
        if agrees:
            entry.off_since = None
            if entry.quarantined:
                entry.back_since = now if entry.back_since is None else entry.back_since
                if now - entry.back_since >= window:
                    entry.quarantined, entry.back_since = False, None
                    return f"agreed with the others for {window} s"
            return "fresh and agreeing"
        entry.back_since = None
        entry.off_since = now if entry.off_since is None else entry.off_since
        if not entry.quarantined and now - entry.off_since >= window:
            entry.quarantined = True
            return f"off the others by more than {self.rules.deviation_bps} bps for {window} s"
        return "off the others"

    def _state(self, entry: Source, now: float, down: frozenset[str]) -> SourceState:
        if entry.venue in down:
            return SourceState.DOWN
        if not self._fresh(entry, now, down):
            return SourceState.STALE
        return SourceState.QUARANTINED if entry.quarantined else SourceState.LIVE

    # -- pricing -------------------------------------------------------------------------------

    def _reprice(self, live: list[Source]) -> list[Transition]:
        """The reference from the ``live`` sources (see the module docstring)."""
        price: float | None = None
        if len(live) == 1:
            price, state, why = live[0].price, ProductState.LIVE, "one live source"
        elif len(live) == 2:
            agree = bool(self._verdicts(live))
            price = statistics.fmean(s.price for s in live) if agree else None
            why = "two live sources agree" if agree else "the two live sources disagree"
            state = ProductState.LIVE if agree else ProductState.SUSPECT
        elif live:
            agree = bool(self._verdicts(live))
            price = statistics.median(s.price for s in live) if agree else None
            why = f"median of {len(live)}" if agree else f"no consensus among {len(live)}"
            state = ProductState.LIVE if agree else ProductState.SUSPECT
        else:
            state, why = ProductState.STALE, "no live source"
        if price is not None:
            newest = max(s.origin for s in live)
            if self.reference is not None:
                newest = max(newest, self.reference.timestamp)
            self.reference = Reference(price, newest, state)
        elif self.reference is not None:
            self.reference = Reference(self.reference.price, self.reference.timestamp, state)
        if state is self.state:
            return []
        before, self.state = self.state, state
        return [Transition(self.product, None, before, state.value, why)]

    def next_deadline(self) -> float | None:
        """The next monotonic time at which a state may change without a new update (a fresh
        source going stale, a quarantine starting or ending); ``None``: none is pending."""
        window = self.rules.window_s
        times = []
        for s in self.sources.values():
            if s.state in (SourceState.LIVE, SourceState.QUARANTINED):
                times.append(s.received_at + self.rules.stale_after(s.name))
            if s.off_since is not None and not s.quarantined:
                times.append(s.off_since + window)
            if s.back_since is not None:
                times.append(s.back_since + window)
        return min(times) if times else None
