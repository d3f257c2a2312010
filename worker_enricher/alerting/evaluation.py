"""The alerts of the products in a batch of enriched messages, evaluated and delivered.

Per batch, one round trip reads each product's rules version, its state (with the state's
generation) and, for chains, its live expiries (which one is the nearest). Each product
with active rules is then evaluated in memory (:func:`observe`) and written back by one
script that replaces the state only if its generation is still the one read, appending the
triggers to the outbox in the same step: of two workers evaluating a product at once (or a
retried task), the second finds the state moved, reads it again and evaluates what is left
(nothing, when its messages were evaluated already). So a crossing fires exactly once, and
a trigger decided is never lost (it is in the outbox before anything else happens).
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import redis

from common import latest
from common.names import ALERT_OUTBOX_STREAM, alert_state_key, alert_version_key
from common.timestamps import now_ts
from worker_enricher.alerting.delivery import Delivery, Entry, outbox_fields
from worker_enricher.alerting.metrics import (
    DELIVERY_SECONDS,
    EVALUATED,
    EVALUATION_SECONDS,
    TRIGGERS,
)
from worker_enricher.alerting.observe import SPOT_SOURCE, Observation, Trigger, observe
from worker_enricher.alerting.rulebook import ProductRules, RuleBook
from worker_enricher.alerting.state import FIELDS, ProductState, decode_state, state_fields
from worker_enricher.scripts import Scripts

log = logging.getLogger(__name__)

OUTBOX_MAXLEN = 100_000
"""Outbox entries kept at most (delivered ones are deleted at once: only a long delivery
outage comes near it)."""
CAS_ATTEMPTS = 20
SWEEP_EVERY_S = 5.0


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _nearest(expiries: Iterable[str], expiry: str, timestamp: str) -> bool:
    """Whether ``expiry`` is the nearest live expiry on or after the message's date."""
    today = timestamp[:10]
    live = [e for e in expiries if e >= today]
    return expiry >= today and expiry <= min(live, default=expiry)


def _chain_observation(chain: Mapping[str, Any], live: list[str]) -> Observation:
    expiry = str(chain["expiry"])
    return Observation(expiry, chain, _nearest(live, expiry, str(chain["timestamp"])))


class AlertEvaluator:
    """Evaluates the alerts of enriched chains and ticks, for one worker process."""

    def __init__(
        self,
        client: redis.Redis,
        scripts: Scripts,
        book: RuleBook,
        delivery: Delivery,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis, self._book, self._delivery, self._clock = client, book, delivery, clock
        self._scripts = scripts
        self._held: dict[str, tuple[str, bytes, ProductState]] = {}
        """Per state key: the generation this worker wrote, its rules' digest, the state."""
        self._last_sweep = clock()

    def on_chains(self, chains: Sequence[Mapping[str, Any]]) -> int:
        """Evaluate and deliver the alerts of enriched chains; the triggers' count."""
        by_product: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for chain in chains:
            by_product[str(chain["product"])].append(chain)
        return self._timed(by_product, "chain", len(chains))

    def on_ticks(self, ticks: Sequence[Mapping[str, Any]]) -> int:
        """Evaluate and deliver the alerts of enriched underlying ticks; the triggers' count."""
        by_product: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for tick in ticks:
            by_product[str(tick["product"])].append(tick)
        return self._timed(by_product, "tick", len(ticks))

    def _timed(self, by_product: Mapping[str, list[Mapping[str, Any]]], kind: str, n: int) -> int:
        started = time.perf_counter()
        try:
            entries = self._evaluate(by_product, chains=kind == "chain")
        finally:
            EVALUATION_SECONDS.labels(kind).inc(time.perf_counter() - started)
            EVALUATED.labels(kind).inc(n)
        TRIGGERS.inc(len(entries))
        started = time.perf_counter()
        try:
            self._delivery.deliver(entries)
            self._maybe_sweep()
        finally:
            DELIVERY_SECONDS.inc(time.perf_counter() - started)
        return len(entries)

    def _evaluate(
        self, by_product: Mapping[str, list[Mapping[str, Any]]], *, chains: bool
    ) -> list[Entry]:
        """Each product's messages evaluated and its state written with its triggers; the
        outbox entries to deliver."""
        kind = "chain" if chains else "spot"
        pipe = self._redis.pipeline(transaction=False)
        queued = []
        for product in by_product:
            at = len(pipe)
            pipe.get(alert_version_key(product))
            key = alert_state_key(product, kind)
            held = self._held.get(key)
            read = [held[0] if held else "", *FIELDS]
            self._scripts.alert_read(keys=[key], args=read, client=pipe)
            queued.append((product, at, latest.queue_expiries(pipe, product) if chains else None))
        replies = self._scripts.execute(pipe)
        entries: list[Entry] = []
        for product, at, expiries in queued:
            sets = self._book.rules(product, _text(replies[at]))
            rules = sets.chain if chains else sets.spot
            if not len(rules):
                continue
            gen, *stored = replies[at + 1] or [None]
            live = expiries.result(replies) if expiries is not None else []
            observations = [
                _chain_observation(m, live) if chains else Observation(SPOT_SOURCE, m)
                for m in by_product[product]
            ]
            entries += self._settle(rules, kind, observations, _text(gen), stored)
        return entries

    def _settle(
        self,
        rules: ProductRules,
        kind: str,
        observations: list[Observation],
        gen: str | None,
        stored: list[bytes | None],
    ) -> list[Entry]:
        """Evaluate and write one product's state (again from a fresh read while another
        worker moves it); the outbox entries written."""
        key = alert_state_key(rules.product, kind)
        for _ in range(CAS_ATTEMPTS):
            state = self._state(key, gen, stored, rules)
            triggers, evaluated = observe(rules, state, observations, now_ts())
            if not evaluated:
                return []
            fields = state_fields(state, rules)
            args: list[Any] = [gen or "", len(fields) // 2, *fields, OUTBOX_MAXLEN]
            for trigger in triggers:
                args += outbox_fields(trigger)
            written = self._scripts.alert_cas(keys=[key, ALERT_OUTBOX_STREAM], args=args)
            if int(written[0]) == 1:
                state.changed.clear()
                state.realigned = False
                self._held[key] = (str(int(gen or 0) + 1), rules.digest, state)
                return [(_text(i) or "", t) for i, t in zip(written[1:], triggers, strict=True)]
            time.sleep(random.uniform(0, 0.002))  # another worker wrote it: read it again
            gen_raw, *again = self._redis.hmget(key, "gen", *FIELDS)
            gen, stored = _text(gen_raw), cast(list[bytes | None], again)
        raise redis.BusyLoadingError(f"alert state of {rules.product} kept moving")

    def _state(
        self, key: str, gen: str | None, stored: list[bytes | None], rules: ProductRules
    ) -> ProductState:
        """The state read, or the one this worker wrote when the read says it is still
        that generation (then nothing but the generation was sent)."""
        held = self._held.get(key)
        if not stored and held is not None and held[0] == gen and held[1] == rules.digest:
            kept = held[2]
            return ProductState(kept.rules, kept.samples, dict(kept.marks))
        if not stored:  # held for other rules: read everything (a move meanwhile fails the CAS)
            stored = cast(list[bytes | None], self._redis.hmget(key, *FIELDS))
        return decode_state(stored, rules)

    def _maybe_sweep(self) -> None:
        now = self._clock()
        if now - self._last_sweep >= SWEEP_EVERY_S:
            self._last_sweep = now
            self._delivery.sweep()


__all__ = ["AlertEvaluator", "Trigger"]
