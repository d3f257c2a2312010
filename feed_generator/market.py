"""The market model: a deterministic, I/O-free simulation that emits the messages that fall due.

``Market(seed, start, products)`` owns one :class:`JumpDiffusion` per product and
one :class:`ExpiryBook` per listed (product, expiry). :meth:`Market.advance`
moves the simulated clock and returns the messages due in that interval, in
time order, each stamped with its own simulated time. Every message stream
runs on a fixed schedule (``phase + k / rate``), so the output depends only on
the seed, the start time and the configuration — never on how the clock is
advanced: ``advance(1.0)`` ten times gives the same messages as ``advance(10.0)``.

``seq`` increases by one per (channel, product) from :func:`seq_base`, the
start instant in microseconds since the epoch; on the chain channel one counter
covers all of a product's expiries.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from common.messages import MAX_STRIKES
from common.names import Channel
from common.timestamps import SECONDS_PER_YEAR, format_ts, years_to_expiry
from feed_generator.book import ChainSnapshot, ExpiryBook, expiry_weight
from feed_generator.expiries import ExpiryCalendar, listed_expiries
from feed_generator.messages import (
    Message,
    chain_message,
    quote_message,
    underlying_message,
)
from feed_generator.process import JumpDiffusion
from feed_generator.products import PRODUCTS, ProductSpec
from feed_generator.quoting import round_to_tick
from feed_generator.session import SessionMode
from feed_generator.smile import Smile

MAX_RATE = 100_000.0
"""Highest rate of one stream, messages per second."""
HEARTBEAT_RATE = 5.0
"""Steps per second of a product's process when its ticks are not published."""
DEFAULT_STRIKES = 21
FIRST_START_YEAR, LAST_START_YEAR = 1971, 2100
"""Years (UTC) a market may start in: its ``seq`` values stay positive and below 2**52."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def seq_base(start: dt.datetime) -> int:
    """The first ``seq`` of a run starting at ``start`` (aware): microseconds since the epoch.

    Each run's counters start at its simulated start instant, so a later run
    continues above an earlier one (unless a product published more than 10⁶
    messages per second of it) and a run with a fixed start is reproducible.
    Exact integer arithmetic; for every allowed start it is below 2**52, so the
    JSON number stays exact far beyond any run's length.
    """
    if not FIRST_START_YEAR <= start.astimezone(dt.UTC).year <= LAST_START_YEAR:
        raise ValueError(f"start must lie in the years {FIRST_START_YEAR}–{LAST_START_YEAR} (UTC)")
    return (start - _EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Rates:
    """Messages per second: ticks and quotes per product, chains per (product, expiry)."""

    tick: float = 5.0
    quote: float = 10.0
    chain: float = 1.0

    def __post_init__(self) -> None:
        for name in ("tick", "quote", "chain"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= MAX_RATE):
                raise ValueError(f"{name} rate must be between 0 and {MAX_RATE:g}/s, got {value}")

    def scaled(self, factor: float) -> Rates:
        """Every rate multiplied by ``factor``."""
        return replace(
            self, tick=self.tick * factor, quote=self.quote * factor, chain=self.chain * factor
        )


def message_rate(
    products: Sequence[ProductSpec], rates: Rates, moment: dt.datetime, expiry_time: dt.time
) -> float:
    """Messages per second of ``rates`` for ``products`` with the expiries listed at ``moment``."""
    chains = sum(len(listed_expiries(p.expiries, moment, expiry_time)) for p in products)
    return len(products) * (rates.tick + rates.quote) + chains * rates.chain


class StreamKind(IntEnum):
    TICK = 0
    QUOTE = 1
    CHAIN = 2


@dataclass(slots=True)
class _Stream:
    kind: StreamKind
    product: int
    interval: float
    phase: float
    silent: bool = False
    count: int = 0

    def due(self) -> float:
        return self.phase + self.count * self.interval


class _ProductState:
    """One product's process, books and bookkeeping."""

    def __init__(
        self,
        spec: ProductSpec,
        seed: int,
        r: float,
        q: float,
        expiry_time: dt.time,
        session: SessionMode = SessionMode.SIMULATED,
    ):
        key = zlib.crc32(spec.name.encode())
        self.spec = spec
        self.session = session
        self.seed_key = (seed, key)
        self.process = JumpDiffusion(
            spec.process, spec.spot, np.random.default_rng([seed, key, 0]), r=r, q=q
        )
        self.rng = np.random.default_rng([seed, key, 1])
        self.calendar = ExpiryCalendar(spec.expiries, expiry_time)
        self.books: dict[dt.date, ExpiryBook] = {}
        self.priced_version: dict[dt.date, int] = {}
        self.tick_decimals = spec.spreads.decimals
        self.price = self.round_price(spec.spot)
        self.version = 0
        self.stepped_at = 0.0
        self.pending_volume = 0

    def round_price(self, spot: float) -> float:
        return float(round_to_tick(spot, self.spec.spreads.tick, self.tick_decimals))

    def step(self, offset: float) -> None:
        """Advance the process to ``offset`` seconds; accumulate the traded quantity."""
        seconds = offset - self.stepped_at
        if seconds <= 0.0:
            return
        result = self.process.step_seconds(seconds)
        self.stepped_at = offset
        self.price = self.round_price(result.spot)
        self.version += 1
        years = seconds / SECONDS_PER_YEAR
        shock = abs(result.log_return) / (result.vol * math.sqrt(years))
        lam = self.spec.underlying_volume * seconds * (0.5 + 0.6 * min(shock, 10.0))
        self.pending_volume += int(self.rng.poisson(lam))

    def book(self, expiry: dt.date, rank: int) -> ExpiryBook:
        book = self.books.get(expiry)
        if book is None:
            rng = np.random.default_rng([*self.seed_key, 2, expiry.toordinal()])
            spec = self.spec
            book = ExpiryBook(
                spec.strike_step, spec.spreads, spec.activity, rank, rng, self.session
            )
            self.books[expiry] = book
        book.rank = rank
        return book

    def forget_expired(self, listed: Sequence[dt.date]) -> None:
        for expiry in [e for e in self.books if e not in listed]:
            del self.books[expiry]
            self.priced_version.pop(expiry, None)


def _pick_rank(count: int, u: float) -> int:
    """Expiry rank drawn with probability ∝ :func:`expiry_weight` from a uniform ``u``."""
    weights = [expiry_weight(rank) for rank in range(count)]
    target = u * sum(weights)
    for rank, weight in enumerate(weights):
        target -= weight
        if target < 0.0:
            return rank
    return count - 1


class Market:
    """A reproducible synthetic options market (no I/O): see the module docstring."""

    def __init__(
        self,
        seed: int,
        start: dt.datetime,
        products: Sequence[ProductSpec] | None = None,
        *,
        strikes: int = DEFAULT_STRIKES,
        rates: Rates | None = None,
        r: float = 0.065,
        q: float = 0.0,
        expiry_time: dt.time = dt.time(10, 0),
        refresh_interval: float = 0.1,
        session: SessionMode = SessionMode.SIMULATED,
    ) -> None:
        """``session``: the calendar options trade on (:class:`SessionMode`)."""
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        if not 1 <= strikes <= MAX_STRIKES:
            raise ValueError(f"strikes must be between 1 and {MAX_STRIKES}")
        self.seed = seed
        self.start = start.astimezone(dt.UTC) if start.tzinfo else start.replace(tzinfo=dt.UTC)
        self.seq_base = seq_base(self.start)
        self.strikes = strikes
        self.rates = rates or Rates()
        self.r, self.q, self.expiry_time = r, q, expiry_time
        self.refresh_interval = refresh_interval
        self.session = session
        specs = list(products) if products is not None else list(PRODUCTS.values())
        self._products = [_ProductState(s, seed, r, q, expiry_time, session) for s in specs]
        self._seq: dict[tuple[Channel, str], int] = {}
        self.elapsed = 0.0
        self._streams = self._make_streams()
        self._heap = [(s.due(), i) for i, s in enumerate(self._streams)]
        heapq.heapify(self._heap)

    @property
    def products(self) -> list[ProductSpec]:
        return [p.spec for p in self._products]

    @property
    def now(self) -> dt.datetime:
        """The simulated clock."""
        return self.start + dt.timedelta(seconds=self.elapsed)

    def expiries(self, product: str) -> list[dt.date]:
        """Expiries of ``product`` listed at the current simulated time."""
        return list(self._state(product).calendar.at(self.now))

    def snapshot(self, product: str, expiry: dt.date) -> ChainSnapshot | None:
        """The latest priced window of (product, expiry), with the smile vols behind it."""
        book = self._state(product).books.get(expiry)
        return None if book is None else book.snapshot

    def _state(self, product: str) -> _ProductState:
        for state in self._products:
            if state.spec.name == product:
                return state
        raise KeyError(product)

    def message_rate(self) -> float:
        """Messages per second the configured rates give at the current time."""
        return message_rate(self.products, self.rates, self.now, self.expiry_time)

    def _make_streams(self) -> list[_Stream]:
        streams: list[_Stream] = []
        for i, state in enumerate(self._products):
            plan = [
                (StreamKind.TICK, self.rates.tick or HEARTBEAT_RATE, self.rates.tick == 0.0),
                (StreamKind.QUOTE, self.rates.quote, False),
                (StreamKind.CHAIN, self.rates.chain, False),
            ]
            for kind, rate, silent in plan:
                if rate > 0.0:
                    # A phase from the product's name and the stream kind alone: products
                    # spread over the interval, and a product's messages do not depend on
                    # which other products run with it.
                    fraction = (state.seed_key[1] / 2**32 + kind / 3.0) % 1.0
                    streams.append(_Stream(kind, i, 1.0 / rate, fraction / rate, silent))
        return streams

    def next_due(self) -> float:
        """Simulated offset (seconds since start) of the next event, silent ones included."""
        return self._heap[0][0]

    def advance(self, seconds: float) -> list[Message]:
        """Move the clock by ``seconds`` and return the messages due, oldest first."""
        return self.advance_to(self.elapsed + seconds)

    def advance_to(self, offset: float) -> list[Message]:
        """Move the clock to ``offset`` seconds after start; messages due in (now, offset]."""
        if offset < self.elapsed:
            raise ValueError("the simulated clock cannot go backwards")
        out: list[Message] = []
        while self._heap[0][0] <= offset:
            due, index = self._heap[0]
            stream = self._streams[index]
            self._fire(stream, due, out)
            stream.count += 1
            heapq.heapreplace(self._heap, (stream.due(), index))
        self.elapsed = offset
        return out

    def _fire(self, stream: _Stream, due: float, out: list[Message]) -> None:
        state = self._products[stream.product]
        state.step(due)
        if stream.silent:
            return
        moment = self.start + dt.timedelta(seconds=due)
        stamp = format_ts(moment)
        if stream.kind is StreamKind.TICK:
            volume, state.pending_volume = state.pending_volume, 0
            seq = self._next_seq(Channel.MARKET_UNDERLYING, state.spec.name)
            payload = underlying_message(state.spec.name, state.price, volume, stamp, seq)
            out.append(Message(due, Channel.MARKET_UNDERLYING, payload))
        elif stream.kind is StreamKind.QUOTE:
            out.append(self._quote(state, due, moment, stamp))
        else:
            self._chains(state, due, moment, stamp, out)

    def _next_seq(self, channel: Channel, product: str) -> int:
        key = (channel, product)
        seq = self._seq.get(key, self.seq_base)
        self._seq[key] = seq + 1
        return seq

    def _snapshot(
        self, state: _ProductState, expiry: dt.date, rank: int, offset: float, moment: dt.datetime
    ) -> ChainSnapshot:
        """The book's snapshot, re-priced when the spot moved and it is old enough."""
        book = state.book(expiry, rank)
        snap = book.snapshot
        if snap is not None and (
            state.priced_version.get(expiry) == state.version
            or offset - snap.offset < self.refresh_interval
        ):
            return snap
        spec = state.spec
        smile = Smile(
            spec.smile, state.process.vol, spec.process.long_run_vol, spec.process.mean_reversion
        )
        T = years_to_expiry(moment, expiry, self.expiry_time)
        state.priced_version[expiry] = state.version
        return book.refresh(offset, moment, state.price, T, self.r, self.q, smile, self.strikes)

    def _listed(self, state: _ProductState, moment: dt.datetime) -> list[dt.date]:
        listed = state.calendar.at(moment)
        if len(state.books) > len(listed) or any(e not in listed for e in state.books):
            state.forget_expired(listed)
        return listed

    def _chains(
        self,
        state: _ProductState,
        offset: float,
        moment: dt.datetime,
        stamp: str,
        out: list[Message],
    ) -> None:
        name = state.spec.name
        for rank, expiry in enumerate(self._listed(state, moment)):
            snap = self._snapshot(state, expiry, rank, offset, moment)
            seq = self._next_seq(Channel.MARKET_OPTION_CHAIN, name)
            payload = chain_message(name, expiry, snap, stamp, seq)
            out.append(Message(offset, Channel.MARKET_OPTION_CHAIN, payload))

    def _quote(
        self, state: _ProductState, offset: float, moment: dt.datetime, stamp: str
    ) -> Message:
        """One option's quote: nearer expiries and strikes near the money are picked more."""
        listed = self._listed(state, moment)
        pick_expiry, pick_strike, pick_side = state.rng.random(3)
        rank = _pick_rank(len(listed), float(pick_expiry))
        snap = self._snapshot(state, listed[rank], rank, offset, moment)
        n = len(snap.strikes)
        atm = round((snap.spot - snap.strikes[0]) / state.spec.strike_step)
        # A discrete Laplace around the money: most quotes near it, a few in the wings.
        distance = round(-math.log(max(1.0 - 2.0 * abs(pick_strike - 0.5), 1e-12)) * n / 8.0)
        index = min(max(atm + (distance if pick_strike >= 0.5 else -distance), 0), n - 1)
        side = 0 if pick_side < 0.5 else 1
        seq = self._next_seq(Channel.MARKET_OPTION_QUOTE, state.spec.name)
        payload = quote_message(state.spec.name, listed[rank], snap, side, index, stamp, seq)
        return Message(offset, Channel.MARKET_OPTION_QUOTE, payload)
