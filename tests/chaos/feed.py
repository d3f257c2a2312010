"""A steady market feed that knows exactly what Redis acknowledged.

The feed generator drops what it cannot write while Redis is down and never says which
messages those were; the chaos suite needs the list of every message Redis took, to
hold the store and the broadcast to it. :class:`SteadyFeed` replays a recording of the
synthetic feed (``--dry-run --record``) at its pace, as ``bench/pipeline.py`` does, with
the send time spliced in as the ``timestamp`` and through the same publisher
(:func:`common.rawfeed.publish_raw`: the raw streams and Pub/Sub, one round trip). It
loops over the recording with each round's ``seq`` moved on by the round's count per
(channel, product), so the numbers go on increasing by one, never repeat, and the
subscriber sees no gap of ours.

A batch Redis answered is *published*; one that failed without an answer (Redis killed
while it was on the wire) is *uncertain* (it may have been written: it may be stored, and
must be stored once if it is); one refused (Redis down) is *dropped*, as the feed drops it.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import redis

from common.names import Channel
from common.rawfeed import publish_raw
from common.redis_client import make_redis
from common.timestamps import now_ts

ChainKey = tuple[str, str]
"""(product, expiry)."""
TickKey = tuple[str, int]
"""(product, seq)."""


def record(path: Path, seconds: float, rate: int, seed: int = 7) -> subprocess.Popen[bytes]:
    """Start recording ``seconds`` of the synthetic feed at ``rate`` messages/s into
    ``path`` (no Redis: ``--dry-run``); the process, to wait for."""
    return subprocess.Popen(
        [sys.executable, "-m", "feed_generator", "--dry-run", "--load", str(rate),
         "--duration", str(seconds), "--seed", str(seed), "--record", str(path),
         "--log-level", "WARNING"], stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Item:
    at_s: float
    channel: str
    product: str
    expiry: str | None
    seq: int
    template: str
    """The encoded message with ``{seq}`` and ``{ts}`` where its own seq and timestamp were
    (other braces doubled)."""


@dataclass
class Sent:
    """What one feed run sent, by outcome."""

    chains: dict[ChainKey, list[int]] = field(default_factory=lambda: defaultdict(list))
    ticks: set[TickKey] = field(default_factory=set)
    messages: int = 0
    uncertain_chains: dict[ChainKey, list[int]] = field(default_factory=lambda: defaultdict(list))
    uncertain_ticks: set[TickKey] = field(default_factory=set)
    dropped: int = 0
    started_at: float = field(default_factory=time.time)
    """When the run began (seconds since the epoch), before its first message's origin."""


def _template(message: dict[str, object]) -> str:
    data = json.dumps(message, separators=(",", ":")).replace("{", "{{").replace("}", "}}")
    ts_at = data.rindex('"timestamp":"') + 13  # the message's own: after every row
    data = data[:ts_at] + "{ts}" + data[ts_at + 24 :]
    seq_at = data.rindex('"seq":') + 6
    seq_end = seq_at
    while seq_end < len(data) and data[seq_end].isdigit():
        seq_end += 1
    return data[:seq_at] + "{seq}" + data[seq_end:]


class SteadyFeed:
    """The recording at ``path`` published at its pace, round after round, run by run."""

    def __init__(self, path: Path, url: str) -> None:
        self.items: list[_Item] = []
        with gzip.open(path, "rt") as lines:
            for line in lines:
                rec = json.loads(line)
                m = rec["message"]
                self.items.append(
                    _Item(rec["t"], rec["channel"], m["product"], m.get("expiry"), m["seq"],
                          _template(m))
                )  # fmt: skip
        self.period_s = self.items[-1].at_s + 1e-3
        self.per_round = Counter((i.channel, i.product) for i in self.items)
        self.url = url
        self.position = 0  # items sent over every run so far
        self.sent = Sent()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def rate(self) -> float:
        return len(self.items) / self.period_s

    def start(self) -> Sent:
        """Start publishing (in a thread) from where the last run stopped; its record."""
        self.sent = Sent()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="steady-feed", daemon=True)
        self._thread.start()
        return self.sent

    def stop(self) -> Sent:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        return self.sent

    def _message(self, index: int, stamp: str) -> tuple[_Item, int, str]:
        """The ``index``-th message of the endless replay: its item, seq and bytes."""
        turn, item = divmod(index, len(self.items))
        it = self.items[item]
        seq = it.seq + turn * self.per_round[it.channel, it.product]
        return it, seq, it.template.format(seq=seq, ts=stamp)

    def _run(self, chunk_s: float = 0.005) -> None:
        client = make_redis(self.url, retries=0, socket_timeout=2.0, connect_timeout=0.5)
        start_pos, start = self.position, time.monotonic()
        offset = self._at(start_pos)
        while not self._stop.is_set():
            now = time.monotonic() - start + offset
            if self._at(self.position) > now:
                time.sleep(min(self._at(self.position) - now, chunk_s))
                continue
            stamp = now_ts()
            batch: list[tuple[_Item, int, str]] = []
            while self._at(self.position) <= now and len(batch) < 2000:
                batch.append(self._message(self.position, stamp))
                self.position += 1
            self._send(client, batch)
        client.close()

    def _at(self, index: int) -> float:
        turn, item = divmod(index, len(self.items))
        return turn * self.period_s + self.items[item].at_s

    def _send(self, client: redis.Redis, batch: list[tuple[_Item, int, str]]) -> None:
        sent = self.sent
        try:
            publish_raw(client, [(it.channel, data.encode()) for it, _, data in batch])
        except redis.RedisError as exc:
            # Refused, timed out connecting, or Redis still loading its file: not written.
            if isinstance(exc, redis.BusyLoadingError) or "connecting" in str(exc):
                sent.dropped += len(batch)
                return
            chains, ticks = sent.uncertain_chains, sent.uncertain_ticks  # lost on the wire
        else:
            chains, ticks = sent.chains, sent.ticks
            sent.messages += len(batch)
        for it, seq, _ in batch:
            if it.channel == Channel.MARKET_OPTION_CHAIN and it.expiry is not None:
                chains[it.product, it.expiry].append(seq)
            elif it.channel == Channel.MARKET_UNDERLYING:
                ticks.add((it.product, seq))
