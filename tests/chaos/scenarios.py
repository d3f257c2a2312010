"""The chaos scenarios and what one run of each measures (a row of the chaos table).

A run publishes the steady feed, injects its fault once ``before`` messages are out, lets
the supervisor bring the process back (or ends the store outage), publishes ``after``
messages more, stops the feed and waits for the backlog to drain; then it compares:

- chain seqs Redis acknowledged against those in the store (missing, duplicated);
- underlying ticks acknowledged against those broadcast on ``enriched:underlying``;
- when the Socket.IO client next held a chain newer than the fault (after reconnecting
  and getting the snapshot, when the gateway was the one killed);
- numbered log lines the ``logs`` stream acknowledged against those the logging service
  filed;
- recovery: from the fault until the last enriched message more than :data:`LATE_S` late
  (origin to broadcast) arrived, i.e. until the backlog the fault left was worked off,
  after which the stream's pending entries, the ``enrich`` queue and kombu's ``unacked``
  hash are found empty.

Used by ``tests/chaos`` (short runs, asserting the zeros) and ``bench/chaos.py`` (longer).
"""

from __future__ import annotations

import signal
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from common.names import Channel
from store import open_store
from tests.chaos.feed import ChainKey, Sent, SteadyFeed, TickKey
from tests.chaos.probes import EnrichedCollector, LogMarkers, SocketProbe, backlog, drained
from tests.chaos.stack import ChaosStack

LATE_S = 1.0
"""An enriched message arriving later than this after its origin is part of a backlog (at
2,000 msg/s on two cores the steady p99 is some 30–60 ms, docs/PERFORMANCE.md)."""
STORE_OUTAGE_S = 10.0


def _wait(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def _kill(program: str, sig: signal.Signals = signal.SIGKILL, group: bool = False) -> Fault:
    def fault(stack: ChaosStack) -> None:
        starts = stack.kill(program, sig, group=group)
        if not stack.wait_ready(program, starts, 120):
            raise AssertionError(f"{program} not back after 120 s:\n{stack.tail()}")

    return fault


def _store_outage(stack: ChaosStack) -> None:
    """Hold SQLite's exclusive lock for :data:`STORE_OUTAGE_S`: every write fails."""
    lock = sqlite3.connect(stack.store_path, isolation_level=None, timeout=30)
    lock.execute("BEGIN EXCLUSIVE")
    time.sleep(STORE_OUTAGE_S)  # the outage itself, not a wait for a condition
    lock.execute("ROLLBACK")
    lock.close()


Fault = Callable[[ChaosStack], None]


@dataclass(frozen=True)
class Scenario:
    label: str
    """As the table names it."""
    fault: Fault
    """Injects the fault and returns once the faulted part is back (or the outage over)."""


SCENARIOS: dict[str, Scenario] = {
    "subscriber": Scenario("subscriber kill -9", _kill("subscriber")),
    # the worker and its pool, batches in hand
    "worker": Scenario("Celery worker kill -9", _kill("worker", group=True)),
    "socket": Scenario("socket gateway kill -9", _kill("socket")),
    "storage": Scenario("storage_service kill -9", _kill("storage")),
    "logging": Scenario("logging_service kill -9", _kill("logging")),
    "redis-restart": Scenario("Redis restart (SIGTERM)", _kill("redis", signal.SIGTERM)),
    "redis-kill": Scenario("Redis kill -9", _kill("redis")),
    "store": Scenario(f"store down {STORE_OUTAGE_S:g} s", _store_outage),
}
"""Every scenario by its short name, in the order they run."""


@dataclass
class Row:
    """One line of the chaos table, and the evidence behind it."""

    scenario: str
    published: int
    """Chain seqs Redis acknowledged."""
    stored: int
    missing: int
    duplicated: int
    ticks_published: int
    ticks_missing: int
    socket_back_s: float | None
    log_lines: int
    log_lost: int
    recovery_s: float | None
    drained: bool
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Probes:
    """What every scenario reads, made once per stack."""

    stack: ChaosStack
    feed: SteadyFeed
    enriched: EnrichedCollector
    socket: SocketProbe


def run(
    probes: Probes, name: str, before: int, after: int, settle_s: float = 90.0,
    progress: Callable[[str], None] = lambda _: None,
) -> Row:  # fmt: skip
    """Run scenario ``name``: ``before`` feed messages, the fault, ``after`` more once the
    faulted part is back; then wait (up to ``settle_s``) for everything to land. Says what
    it does through ``progress``."""
    stack, feed, enriched = probes.stack, probes.feed, probes.enriched
    markers = LogMarkers(
        stack.redis_url, stack.urls["logging"], f"chaos-{uuid.uuid4().hex[:12]}"
    ).start()
    first_arrival = len(enriched.arrivals)
    sent = feed.start()

    def out() -> int:  # messages the feed is past, written or not
        return sent.messages + sent.dropped

    progress(f"{name}: feeding {before} messages at {feed.rate:.0f}/s")
    assert _wait(lambda: out() >= before, 60 + before / feed.rate), "the feed did not get going"
    progress(f"{name}: fault")
    fault_at = time.time()
    SCENARIOS[name].fault(stack)
    back_at = time.time()
    progress(f"{name}: back after {back_at - fault_at:.2f} s; feeding {after} more")
    resumed = out()
    assert _wait(lambda: out() >= resumed + after, 60 + after / feed.rate), "the feed stopped"
    feed.stop()
    markers.stop()
    progress(f"{name}: feed stopped; waiting for the backlog to drain")
    return _settle(probes, name, sent, markers, first_arrival, fault_at, back_at, settle_s)


def _settle(
    probes: Probes, name: str, sent: Sent, markers: LogMarkers, first_arrival: int,
    fault_at: float, back_at: float, settle_s: float,
) -> Row:  # fmt: skip
    stack, enriched = probes.stack, probes.enriched
    client, broker = stack.redis(), stack.redis(1)
    store = open_store(stack.store_url)
    try:
        keys = set(sent.chains) | set(sent.uncertain_chains)

        def stored() -> dict[ChainKey, list[int]]:
            return {key: store.chain_seqs(*key) for key in keys}

        def complete() -> bool:
            have = stored()
            return all(set(have[k]) >= set(seqs) for k, seqs in sent.chains.items())

        landed = _wait(lambda: complete() and drained(client, broker), settle_s, 0.25)
        left = _safe_backlog(client, broker)

        def ticks_seen() -> set[TickKey]:
            return enriched.seqs(Channel.ENRICHED_UNDERLYING, first_arrival)

        _wait(lambda: sent.ticks <= ticks_seen(), 15 if landed else 1)
        _wait(lambda: probes.socket.back_after(fault_at) is not None, 30)
        _wait(lambda: markers.acked <= markers.filed(), 30 if landed else 1, 0.5)
        have = stored()
        return _row(name, sent, have, ticks_seen(), markers, probes.socket, enriched,
                    first_arrival, fault_at, back_at, landed, left)  # fmt: skip
    finally:
        store.close()
        client.close()
        broker.close()


def _safe_backlog(client: Any, broker: Any) -> dict[str, int] | str:
    try:
        return backlog(client, broker)
    except Exception as exc:  # Redis not answering is itself the evidence
        return repr(exc)


def _row(
    name: str, sent: Sent, have: dict[ChainKey, list[int]], ticks_seen: set[TickKey],
    markers: LogMarkers, socket: SocketProbe, enriched: EnrichedCollector,
    first_arrival: int, fault_at: float, back_at: float, landed: bool,
    left: dict[str, int] | str,
) -> Row:  # fmt: skip
    missing = {k: sorted(set(seqs) - set(have[k])) for k, seqs in sent.chains.items()}
    missing = {k: v for k, v in missing.items() if v}
    counts = {k: Counter(v) for k, v in have.items()}
    wanted = {k: set(sent.chains.get(k, [])) | set(sent.uncertain_chains.get(k, [])) for k in have}
    duplicated = {
        k: sorted(s for s, n in c.items() if n > 1 and s in wanted[k]) for k, c in counts.items()
    }
    duplicated = {k: v for k, v in duplicated.items() if v}
    arrivals = enriched.arrivals[first_arrival:]
    late = [a for a in arrivals if a.at - a.origin > LATE_S and a.origin >= sent.started_at]
    ticks_missing = sorted(sent.ticks - ticks_seen)
    filed = markers.filed()
    socket_at = socket.back_after(fault_at)
    lost = sorted(markers.acked - filed)
    uncertain_stored = sum(
        len(set(seqs) & set(have.get(k, []))) for k, seqs in sent.uncertain_chains.items()
    )
    return Row(
        scenario=SCENARIOS[name].label,
        published=sum(len(v) for v in sent.chains.values()),
        stored=sum(len(set(have[k]) & set(v)) for k, v in sent.chains.items()),
        missing=sum(len(v) for v in missing.values()),
        duplicated=sum(len(v) for v in duplicated.values()),
        ticks_published=len(sent.ticks),
        ticks_missing=len(ticks_missing),
        socket_back_s=None if socket_at is None else round(socket_at - fault_at, 2),
        log_lines=len(markers.acked),
        log_lost=len(lost),
        recovery_s=round(max(a.at for a in late) - fault_at, 2) if late else 0.0,
        drained=landed,
        evidence={
            "back_s": round(back_at - fault_at, 2),
            "messages": sent.messages,
            "dropped": sent.dropped,
            "uncertain_chains": sum(len(v) for v in sent.uncertain_chains.values()),
            "uncertain_chains_stored": uncertain_stored,
            "uncertain_ticks": len(sent.uncertain_ticks),
            "late_messages": len(late),
            # Late already before the fault: the pipeline was not keeping up (another load
            # on the machine), and the recovery time is not the fault's alone.
            "late_before_fault": sum(a.at < fault_at for a in late),
            "late_from_s": round(min(a.at for a in late) - fault_at, 2) if late else None,
            "max_delay_s": round(max(a.at - a.origin for a in late), 2) if late else None,
            "missing_chains": {f"{p}/{e}": v[:20] for (p, e), v in missing.items()},
            "duplicated_chains": {f"{p}/{e}": v[:20] for (p, e), v in duplicated.items()},
            "missing_ticks": ticks_missing[:20],
            "log_lines_refused": markers.refused,
            "log_lines_lost": lost[:20],
            "collector_blind_s": [
                (round(a - fault_at, 2), round(b - fault_at, 2)) for a, b in enriched.blind
                if b >= fault_at
            ],
            "backlog_left": left,
            "socket_disconnects": [round(d - fault_at, 2) for d in socket.events.disconnects
                                   if d > fault_at],
            "socket_reconnects": sum(c > fault_at for c in socket.events.connects),
            "socket_chains": sum(at > fault_at for at, _, _ in socket.events.chains),
            # Chains of the client's product on enriched:option_chain after the fault: none
            # means nothing was broadcast; some, with no socket_chains, that the gateway
            # did not pass them on.
            "enriched_room_product_chains": sum(
                a.channel == Channel.ENRICHED_OPTION_CHAIN and a.product == socket.room[0]
                and a.at > fault_at for a in arrivals
            ),
            "socket_subscribed_again": sum(c > fault_at for c in socket.events.subscribed),
        },
    )  # fmt: skip
