"""Micro-batching with coalescing of chains under backpressure; pure logic, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from common.names import Channel

MAX_BATCH_BYTES = 4 << 20
"""A batch is sent early once its messages reach this size (wide chains are large)."""


class Batch(NamedTuple):
    """Messages of one channel for one task, with the stream entry ID of each."""

    channel: Channel
    raws: list[bytes]
    ids: list[bytes]


@dataclass(slots=True)
class Batcher:
    """Collects raw messages per channel; :meth:`take` hands out the batches that are due.

    Batching is adaptive: the batches go out as soon as the reader is *drained*
    (its last read brought back less than it asked for, so nothing more is
    waiting, and no task waits in the queue: the subscriber decides) and the
    queue is not congested; at a low rate a message does not wait for others
    that are not coming. Under load (reads come back full, or the workers are
    busy) a batch grows until it holds ``size`` messages or ``MAX_BATCH_BYTES``,
    or its first message has waited ``max_wait_s``; so the workers get fewer,
    larger tasks. While the queue is
    congested, chains are held per (product, expiry) instead; a newer one
    replaces the one held (it is *superseded*), and the held chains go out
    every ``release_s`` or as soon as the congestion ends. Ticks and quotes are
    never held. Each message travels with its stream entry ID, acknowledged once
    the message is sent or superseded.
    """

    size: int
    max_wait_s: float
    release_s: float
    pending: dict[Channel, list[bytes]] = field(default_factory=dict)
    pending_ids: dict[Channel, list[bytes]] = field(default_factory=dict)
    pending_bytes: int = 0
    first_at: float | None = None
    held: dict[tuple[str, str], tuple[bytes, bytes]] = field(default_factory=dict)
    """(product, expiry) → (message, entry ID) of the newest chain held."""
    last_release: float = 0.0

    def add(self, channel: Channel, raw: bytes, now: float, entry_id: bytes) -> None:
        self.pending.setdefault(channel, []).append(raw)
        self.pending_ids.setdefault(channel, []).append(entry_id)
        self.pending_bytes += len(raw)
        if self.first_at is None:
            self.first_at = now

    def hold(self, product: str, expiry: str, raw: bytes, entry_id: bytes) -> bytes | None:
        """Hold a chain while congested; the entry ID of the held one it superseded, if any."""
        before = self.held.get((product, expiry))
        self.held[product, expiry] = (raw, entry_id)
        return None if before is None else before[1]

    def _release_due(self, now: float, congested: bool) -> bool:
        return bool(self.held) and (not congested or now - self.last_release >= self.release_s)

    def due(self, now: float, congested: bool, drained: bool = False) -> bool:
        """Whether :meth:`take` should be called; ``drained``: the last read found nothing
        more to read (it brought back fewer entries than it asked for)."""
        if self.first_at is not None and drained and not congested:
            return True
        full = self.pending_bytes >= MAX_BATCH_BYTES or any(
            len(batch) >= self.size for batch in self.pending.values()
        )
        waited = self.first_at is not None and now - self.first_at >= self.max_wait_s
        return full or waited or self._release_due(now, congested)

    def next_deadline(self, now: float) -> float:
        """Seconds until a batch may fall due with no new message (at most ``max_wait_s``)."""
        deadlines = [self.max_wait_s]
        if self.first_at is not None:
            deadlines.append(self.first_at + self.max_wait_s - now)
        if self.held:
            deadlines.append(self.last_release + self.release_s - now)
        return max(0.0, min(deadlines))

    def take(self, now: float, congested: bool) -> list[Batch]:
        """Every pending batch, with the held chains if their release is due, in ``size`` chunks."""
        if self._release_due(now, congested):
            chains = self.pending.setdefault(Channel.MARKET_OPTION_CHAIN, [])
            chain_ids = self.pending_ids.setdefault(Channel.MARKET_OPTION_CHAIN, [])
            for raw, entry_id in self.held.values():
                chains.append(raw)
                chain_ids.append(entry_id)
            self.held.clear()
            self.last_release = now
        batches = [
            Batch(
                channel, messages[i : i + self.size], self.pending_ids[channel][i : i + self.size]
            )
            for channel, messages in self.pending.items()
            for i in range(0, len(messages), self.size)
        ]
        self.pending, self.pending_ids = {}, {}
        self.pending_bytes = 0
        self.first_at = None
        return batches
