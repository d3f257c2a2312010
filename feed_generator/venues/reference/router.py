"""The reference price on the wire: a :class:`~feed_generator.publisher.Sink` between the venues
and the real sinks.

Every ``market:underlying`` tick of a venue (it carries ``venue``) is decoded (msgspec, the
wire struct) and fed to its product's :class:`~.book.ProductBook` as the source named by its
``venue``; it is not published. Instead the router publishes its own reference tick per
product: ``price`` the reference, ``sources`` each source's price, age (ms since received)
and state, ``timestamp`` the newest origin timestamp of the live sources used (a held value
keeps its own, so a product without a fresh source ages downstream by itself), ``seq`` the
router's own per product (from :func:`feed_generator.market.seq_base` of its start: one
series however many venues price the product), ``venue`` and ``currency`` those of the
product's primary venue (its conventions' venue when that is a source, else the first
source seen), ``volume`` the sum of the volumes the trusted sources reported since the
previous tick. A product's tick goes out at most every ``emit_interval_s``, and at once on a
change of state; :meth:`ReferenceRouter.tick` (the timer of :meth:`ReferenceRouter.run`, or
the next batch of any venue) re-evaluates, so a silent source goes stale on time.

Option chains pass with ``spot_price`` set to their product's reference when there is one
(re-encoded from the wire struct). A chain from a venue whose forward is not the venue's own
(NSE chains) also feeds the ``parity`` source of its product when it is of the nearest
expiry (:mod:`.parity`). The synthetic market's messages (no ``venue``) and quotes pass
untouched. A tick that does not decode is dead-lettered through ``on_reject`` (channel, raw,
reason), never published, never raised; a chain that does not decode passes as it came (the
worker dead-letters it with its reason).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from common.feeds import FeedState, SourceStatus
from common.messages import MessageError, decode_message, encode_message
from common.messages.enums import ForwardSource, SourceState
from common.messages.market import OptionChain, SourcePrice, UnderlyingTick
from common.names import Channel
from common.products import ConventionsRegistry
from common.settings import ReferenceSettings
from feed_generator.market import seq_base
from feed_generator.publisher import Encoded, Sink
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.reference.book import ProductBook, ProductState, Rules
from feed_generator.venues.reference.parity import parity_spot
from feed_generator.venues.reference.status import ReferenceHealth, record

__all__ = ["PARITY", "ReferenceRouter"]

log = logging.getLogger(__name__)

PARITY = "parity"
"""The name of the source implied by put-call parity."""
UNDERLYING = Channel.MARKET_UNDERLYING.value
CHAIN = Channel.MARKET_OPTION_CHAIN.value
EXPIRY_SEEN_S = 60.0
"""An expiry without a chain for this long no longer counts as the product's nearest."""
_WAKE_S = (0.005, 1.0)
"""Bounds of the timer's wait (seconds): past a deadline by a little, and at least every 1 s."""

OnReject = Callable[[str, str, str], None]
"""``(channel, raw message, reason)``."""


@dataclass(slots=True)
class _Product:
    book: ProductBook
    seq: int
    emitted_at: float = -float("inf")
    dirty: bool = False
    volume: int = 0
    currencies: dict[str, str | None] = field(default_factory=dict)
    """Source venue → its ticks' currency, in the order first seen."""
    expiries: dict[str, float] = field(default_factory=dict)
    """Expiry → when its last chain passed (for the parity source)."""


class ReferenceRouter:
    """The sink the venues send to; see the module docstring. Thread-safe.

    ``healths``: each venue's health by the name its messages carry (``deribit`` for
    ``deribit-sim``), so a venue reporting ``down`` makes its sources down. ``clock``:
    monotonic seconds; ``wall``: the aware UTC now.
    """

    def __init__(
        self,
        sinks: Sequence[Sink],
        settings: ReferenceSettings,
        registry: ConventionsRegistry,
        *,
        healths: Mapping[str, FeedHealth] | None = None,
        on_reject: OnReject | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.sinks = tuple(sinks)
        self.settings, self.registry = settings, registry
        self.healths = dict(healths or {})
        self.on_reject = on_reject
        self._clock = clock
        self._seq_base = seq_base(wall())
        self._products: dict[str, _Product] = {}
        self._offset = 0.0
        """The newest batch offset seen: timer ticks reuse it, so a capture's time never
        goes back."""
        self._lock = threading.Lock()
        self.health = ReferenceHealth(self._statuses, clock=clock, wall=wall)
        self.rejected = 0

    # -- the Sink ----------------------------------------------------------------------------

    def send(self, batch: Sequence[Encoded]) -> None:
        """Route one batch of a venue to the sinks (see the module docstring)."""
        with self._lock:
            now = self._clock()
            out: list[Encoded] = []
            for item in batch:
                channel = item[1]
                if channel == UNDERLYING:
                    self._underlying(item, now, out)
                elif channel == CHAIN:
                    out.append(self._chain(item, now))
                else:
                    out.append(item)
            if batch:
                self._offset = max(self._offset, batch[-1][0])
            self._evaluate(now, out)
            self._forward(out)

    def close(self) -> None:
        """Nothing of its own: the real sinks are closed by whoever opened them."""

    # -- the timer ---------------------------------------------------------------------------

    def tick(self) -> float:
        """Re-evaluate now and publish what is due; the seconds until the next deadline."""
        with self._lock:
            now = self._clock()
            out: list[Encoded] = []
            self._evaluate(now, out)
            self._forward(out)
            return self._next_wake(now)

    def run(self, stop: threading.Event) -> None:
        """Call :meth:`tick` whenever something falls due, until ``stop`` is set."""
        wait = 0.0
        while not stop.wait(wait):
            try:
                wait = self.tick()
            except Exception:  # a failing sink must not end the timer: the venues go on
                log.exception("reference tick failed")
                wait = _WAKE_S[1]

    def _next_wake(self, now: float) -> float:
        interval = self.settings.emit_interval_s
        times = [p.emitted_at + interval for p in self._products.values() if p.dirty]
        times += [d for p in self._products.values() if (d := p.book.next_deadline()) is not None]
        low, high = _WAKE_S
        return min(max(min(times, default=now + high) - now + low, low), high)

    # -- messages ----------------------------------------------------------------------------

    def _product(self, product: str) -> _Product:
        entry = self._products.get(product)
        if entry is None:
            s = self.settings
            rules = Rules(s.deviation_for(product), s.window_s, s.stale_after_s,
                          s.stale_after_s_by_source)  # fmt: skip
            entry = self._products[product] = _Product(ProductBook(product, rules), self._seq_base)
        return entry

    def _underlying(self, item: Encoded, now: float, out: list[Encoded]) -> None:
        try:
            tick = decode_message(Channel.MARKET_UNDERLYING, item[2])
        except MessageError as exc:
            self._reject(UNDERLYING, item[2], str(exc))
            return
        assert isinstance(tick, UnderlyingTick)
        if tick.venue is None:  # the synthetic market: not a source, published as it is
            out.append(item)
            return
        entry = self._product(tick.product)
        entry.book.update(tick.venue, tick.venue, tick.price, tick.timestamp, now)
        entry.currencies.setdefault(tick.venue, tick.currency)
        source = entry.book.sources[tick.venue]
        if source.state not in (SourceState.QUARANTINED, SourceState.DOWN):
            entry.volume += tick.volume
        entry.dirty = True

    def _chain(self, item: Encoded, now: float) -> Encoded:
        data = item[2]
        if '"venue"' not in data:  # the synthetic market's: never decoded
            return item
        try:
            chain = decode_message(Channel.MARKET_OPTION_CHAIN, data)
        except MessageError:
            return item
        assert isinstance(chain, OptionChain)
        if chain.venue is None:
            return item
        entry = self._product(chain.product)
        if chain.forward_source is not ForwardSource.VENUE:
            self._parity(entry, chain, now)
        reference = entry.book.reference
        if reference is None or reference.price == chain.spot_price:
            return item
        chain.spot_price = reference.price  # a positive float: the struct stays valid
        return (item[0], item[1], encode_message(chain).decode())

    def _parity(self, entry: _Product, chain: OptionChain, now: float) -> None:
        """Feed the ``parity`` source from ``chain`` when it is of the nearest expiry."""
        entry.expiries[chain.expiry] = now
        for expiry, seen in list(entry.expiries.items()):
            if now - seen > EXPIRY_SEEN_S:
                del entry.expiries[expiry]
        if chain.expiry != min(entry.expiries):
            return
        reference = entry.book.reference
        near = chain.spot_price if reference is None else reference.price
        conventions = self.registry.get(chain.product)
        try:
            spot = parity_spot(chain, conventions, near)
        except ValueError:  # a timestamp the struct let through but the calendar refuses
            spot = None
        if spot is None:
            return
        assert chain.venue is not None
        entry.book.update(PARITY, chain.venue, spot, chain.timestamp, now)
        entry.currencies.setdefault(PARITY, chain.currency)
        entry.dirty = True

    def _reject(self, channel: str, raw: str, reason: str) -> None:
        self.rejected += 1
        if self.rejected <= 20 or self.rejected % 1000 == 0:
            log.warning("reference input rejected",
                        extra={"channel": channel, "reason": reason[:200],
                               "rejected": self.rejected})  # fmt: skip
        if self.on_reject is not None:
            try:
                self.on_reject(channel, raw, reason)
            except Exception:  # a failing dead-letter store must not stop the feed
                log.exception("reference dead letter not stored")

    # -- evaluation and emission -------------------------------------------------------------

    def _down(self) -> frozenset[str]:
        return frozenset(n for n, h in self.healths.items() if h.state is FeedState.DOWN)

    def _evaluate(self, now: float, out: list[Encoded]) -> None:
        down = self._down()
        interval = self.settings.emit_interval_s
        for name, entry in self._products.items():
            changes = entry.book.evaluate(now, down)
            record(changes)
            due = entry.dirty and now - entry.emitted_at >= interval
            if changes or due:
                self._emit(name, entry, now, out)
        self._set_state()

    def _emit(self, name: str, entry: _Product, now: float, out: list[Encoded]) -> None:
        reference = entry.book.reference
        if reference is None:  # two disagreeing sources from the start: nothing good yet
            entry.dirty = False
            return
        venue, currency = self._primary(name, entry)
        tick = UnderlyingTick(
            type="underlying",
            product=name,
            price=reference.price,
            volume=entry.volume,
            timestamp=reference.timestamp,
            seq=entry.seq,
            venue=venue,
            currency=currency,
            sources=[
                SourcePrice(source=s.name, price=s.price, state=s.state or SourceState.LIVE,
                            age_ms=max(0, round((now - s.received_at) * 1000)))
                for s in sorted(entry.book.sources.values(), key=lambda s: s.name)[:16]
            ],
        )  # fmt: skip
        out.append((self._offset, UNDERLYING, encode_message(tick).decode()))
        entry.seq += 1
        entry.volume, entry.dirty, entry.emitted_at = 0, False, now
        self.health.on_message(name)

    def _primary(self, name: str, entry: _Product) -> tuple[str | None, str | None]:
        """The product's primary venue and its currency (see the module docstring)."""
        venues = [v for v in entry.currencies if v != PARITY]
        preferred = self.registry.get(name).venue
        if preferred in venues:
            return preferred, entry.currencies[preferred]
        if venues:
            return venues[0], entry.currencies[venues[0]]
        # parity alone: the venue of its chains
        return entry.book.sources[PARITY].venue, entry.currencies.get(PARITY)

    def _set_state(self) -> None:
        """``connecting`` before a first reference; ``live`` while every product's is live,
        ``down`` when none is, ``degraded`` in between."""
        states = [p.book.state for p in self._products.values() if p.book.reference is not None]
        if not states:
            return
        live = sum(s is ProductState.LIVE for s in states)
        if live == len(states):
            self.health.set_state(FeedState.LIVE)
        else:
            self.health.set_state(FeedState.DEGRADED if live else FeedState.DOWN)

    def _forward(self, out: list[Encoded]) -> None:
        if not out:
            return
        for sink in self.sinks:
            sink.send(out)

    def _statuses(self) -> dict[str, list[SourceStatus]]:
        """Each product's sources now, for the health snapshot."""
        with self._lock:
            now = self._clock()
            return {
                name: [
                    SourceStatus(source=s.name, state=s.state or SourceState.LIVE,
                                 price=s.price, age_s=max(0.0, now - s.received_at))
                    for s in sorted(entry.book.sources.values(), key=lambda s: s.name)
                ]
                for name, entry in self._products.items()
            }  # fmt: skip
