"""A product's evaluation state as stored in Redis, and its alignment with the rules.

The hash ``alerts:state:{product}`` holds, besides its generation ``gen``:

- ``ids``: each rule's state identity (``ProductRules.keys``) as an 8-byte digest, in the
  order of the arrays; ``digest``: a digest of all of them (the cheap check that the
  stored order is the rules' order);
- ``prev`` and ``fired``: each rule's previous value and last trigger (float64 arrays);
- ``times``, ``values``, ``head``: the samples of the ``change_pct`` rules (in their
  order among the rules);
- ``marks``: per source of data (an expiry's chains, the ticks) the newest message
  evaluated (msgpack).

Only what changed is written back (``prev`` and ``marks`` each time; the others when a
rule fired, a sample was taken or the rules changed), so a product's thousand rules cost
a few kilobytes per message. When the rules changed, each rule keeps the state stored under
its identity and a new (or edited) rule starts fresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
from numpy.typing import NDArray

from alerts.evaluate import RuleState
from alerts.window import SLOTS, Samples
from worker_enricher.alerting.rulebook import ProductRules

__all__ = ["FIELDS", "Mark", "ProductState", "decode_state", "state_fields"]

Mark = tuple[str, int]
"""The newest message evaluated from a source: its (timestamp, seq)."""
FIELDS = ("digest", "ids", "change", "prev", "fired", "times", "values", "head", "marks")
"""The hash fields read, in this order (``gen`` apart); ``change`` flags the ``change_pct``
rules among ``ids`` (the samples are in their order)."""

_MARKS_ENCODER = msgspec.msgpack.Encoder()
_MARKS_DECODER = msgspec.msgpack.Decoder(dict[str, tuple[str, int]])


def _ids(rules: ProductRules) -> NDArray[np.uint64]:
    keys = rules.keys.split("\n") if rules.keys else []
    digests = b"".join(hashlib.blake2b(k.encode(), digest_size=8).digest() for k in keys)
    return np.frombuffer(digests, dtype=np.uint64)


@dataclass(slots=True)
class ProductState:
    """The state of a product's rules, aligned with its :class:`ProductRules`, and which
    of its parts changed since it was read."""

    rules: RuleState
    samples: Samples
    marks: dict[str, Mark]
    realigned: bool = False
    """The stored arrays were in another order (or absent): every field is written."""
    changed: set[str] = field(default_factory=set)

    @classmethod
    def fresh(cls, rules: ProductRules) -> ProductState:
        n = rules.columns.change.size
        return cls(RuleState.fresh(len(rules)), Samples.empty(n), {}, realigned=True)


def _floats(raw: bytes | None, n: int) -> np.ndarray | None:
    if raw is None or len(raw) != 8 * n:
        return None
    return np.frombuffer(raw, dtype=np.float64).copy()


def _stored_samples(values: dict[str, bytes | None]) -> Samples | None:
    head = values["head"]
    if head is None or len(head) % 8:
        return None
    n = len(head) // 8
    times, kept = _floats(values["times"], n * SLOTS), _floats(values["values"], n * SLOTS)
    if times is None or kept is None:
        return None
    index = np.frombuffer(head, dtype=np.int64).astype(np.intp)
    if index.size and not ((index >= 0) & (index < SLOTS)).all():
        return None
    return Samples(times.reshape(n, SLOTS), kept.reshape(n, SLOTS), index)


def _realigned(values: dict[str, bytes | None], rules: ProductRules) -> ProductState:
    """The stored state moved to the rules' order by state identity."""
    state = ProductState.fresh(rules)
    ids = values["ids"]
    if ids is None or len(ids) % 8:
        return state
    stored = np.frombuffer(ids, dtype=np.uint64)
    position = {int(d): i for i, d in enumerate(stored)}
    mine = _ids(rules)
    pairs = [(j, position[int(d)]) for j, d in enumerate(mine) if int(d) in position]
    prev, fired = _floats(values["prev"], stored.size), _floats(values["fired"], stored.size)
    if pairs and prev is not None and fired is not None:
        to, frm = np.array(pairs).T
        state.rules.previous[to] = prev[frm]
        state.rules.last_fired[to] = fired[frm]
    old = _stored_samples(values)
    change_old = {int(d): i for i, d in enumerate(stored[_change_positions(stored, values)])}
    if old is not None and len(change_old) == len(old.head):
        moved = [(j, change_old[int(d)]) for j, d in enumerate(mine[rules.columns.change])
                 if int(d) in change_old]  # fmt: skip
        if moved:
            to, frm = np.array(moved).T
            state.samples.times[to] = old.times[frm]
            state.samples.values[to] = old.values[frm]
            state.samples.head[to] = old.head[frm]
    return state


def _change_positions(stored: np.ndarray, values: dict[str, bytes | None]) -> np.ndarray:
    """The positions of the stored ``change_pct`` rules (their ``change`` flag set)."""
    flags = values["change"]
    if flags is None or len(flags) != stored.size:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.frombuffer(flags, dtype=np.uint8))


def decode_state(replies: Sequence[bytes | None] | None, rules: ProductRules) -> ProductState:
    """The state for ``rules`` from the hash's :data:`FIELDS` as read (fresh when nothing
    is stored or it cannot be read)."""
    if not replies or all(r is None for r in replies):
        return ProductState.fresh(rules)
    values = dict(zip(FIELDS, replies, strict=True))
    try:
        marks = _MARKS_DECODER.decode(values["marks"]) if values["marks"] else {}
    except msgspec.DecodeError:
        marks = {}
    if values["digest"] != rules.digest:
        state = _realigned(values, rules)
        state.marks = dict(marks)
        return state
    n = len(rules)
    prev, fired = _floats(values["prev"], n), _floats(values["fired"], n)
    samples = _stored_samples(values)
    unreadable = prev is None or fired is None or samples is None
    if unreadable or len(samples.head) != rules.columns.change.size:  # type: ignore[union-attr]
        state = ProductState.fresh(rules)
        state.marks = dict(marks)
        return state
    return ProductState(RuleState(prev, fired), samples, dict(marks))  # type: ignore[arg-type]


def state_fields(state: ProductState, rules: ProductRules) -> list[bytes]:
    """The hash fields to write back, as field, value, field, value…: everything when the
    state was realigned, else ``prev``, ``marks`` and the parts that changed."""
    everything = state.realigned
    out: list[bytes] = [b"prev", state.rules.previous.tobytes(),
                        b"marks", _MARKS_ENCODER.encode(state.marks)]  # fmt: skip
    if everything or "fired" in state.changed:
        out += [b"fired", state.rules.last_fired.tobytes()]
    if everything or "samples" in state.changed:
        s = state.samples
        out += [b"times", s.times.tobytes(), b"values", s.values.tobytes(),
                b"head", s.head.astype(np.int64).tobytes()]  # fmt: skip
    if everything:
        flags = np.zeros(len(rules), dtype=np.uint8)
        flags[rules.columns.change] = 1
        out += [b"digest", rules.digest, b"ids", _ids(rules).tobytes(),
                b"change", flags.tobytes()]  # fmt: skip
    return out
