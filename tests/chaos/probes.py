"""What the chaos suite watches: the broadcast, a Socket.IO client, log lines, the backlog.

Each probe keeps reconnecting by itself, since Redis or the gateway it reads from is
among what the suite kills, and notes the instants it saw things (``time.time()``) so a
scenario can say how long after its fault something came back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis
import socketio

from common.logship import FIELD
from common.names import (
    ENRICH_QUEUE,
    LOG_STREAM,
    MARKET_CHANNELS,
    SUBSCRIBER_GROUP,
    Channel,
    raw_stream_key,
)
from common.redis_client import make_redis

ENRICHED = (Channel.ENRICHED_UNDERLYING, Channel.ENRICHED_OPTION_CHAIN)


def origin_s(timestamp: str) -> float:
    """Seconds since the epoch of a message's ``timestamp`` (ISO-8601 UTC)."""
    return dt.datetime.fromisoformat(timestamp).timestamp()


@dataclass(frozen=True, slots=True)
class Arrival:
    channel: str
    product: str
    seq: int
    origin: float
    at: float


class EnrichedCollector:
    """Every ``enriched:*`` message (channel, product, seq, origin, arrival), resubscribing
    at once after a lost connection; the intervals it was not subscribed are ``blind``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrivals: list[Arrival] = []
        self.blind: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="enriched", daemon=True)
        self._thread.start()
        assert self._subscribed.wait(10), "could not subscribe to enriched:*"

    def _run(self) -> None:
        lost_at: float | None = None
        while not self._stop.is_set():
            client = make_redis(self.url, retries=0, socket_timeout=None, connect_timeout=0.5)
            pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(*(c.value for c in ENRICHED))
                if lost_at is not None:
                    self.blind.append((lost_at, time.time()))
                    lost_at = None
                self._subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message is not None:
                        self._keep(message)
            except (redis.RedisError, OSError):
                lost_at = lost_at or time.time()
                time.sleep(0.02)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
                    client.close()

    def _keep(self, message: dict[str, Any]) -> None:
        now = time.time()
        body = orjson.loads(message["data"])
        self.arrivals.append(
            Arrival(message["channel"].decode(), body["product"], body["seq"],
                    origin_s(body["timestamp"]), now)
        )  # fmt: skip

    def seqs(self, channel: Channel, since: int = 0) -> set[tuple[str, int]]:
        return {(a.product, a.seq) for a in self.arrivals[since:] if a.channel == channel}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class SocketEvents:
    connects: list[float] = field(default_factory=list)
    disconnects: list[float] = field(default_factory=list)
    chains: list[tuple[float, float, int]] = field(default_factory=list)
    """(arrival, origin, seq) of every ``chain_update``: snapshots and updates."""
    subscribed: list[float] = field(default_factory=list)


class SocketProbe:
    """A real python-socketio client, reconnecting as the dashboard does (0.5 s, doubling to
    2 s, ±50 %; a fresh token from ``token()`` on every attempt; after the server closed
    the session, a token expired say, it comes back by itself), subscribing to one chain's
    room after every connect: the gateway then sends the cached snapshot."""

    def __init__(self, url: str, token: Callable[[], str], room: tuple[str, str]) -> None:
        self.url, self.token, self.room = url, token, room
        self.events = SocketEvents()
        self.sio = socketio.Client(
            reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2,
            randomization_factor=0.5,
        )  # fmt: skip
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("chain_update", self._on_chain)
        self._closed = False
        self._connect()

    def _connect(self) -> None:
        self.sio.connect(
            self.url, auth=lambda: {"token": self.token()}, transports=["websocket"],
            wait_timeout=10,
        )  # fmt: skip

    def _come_back(self, since: float) -> None:
        """After a server disconnect python-socketio does not reconnect: as the dashboard.
        (The client still says it is connected while its disconnect handler runs.)"""
        delay = 1.0
        while not self._closed and not any(c > since for c in self.events.connects):
            time.sleep(delay)
            if self.sio.connected:
                continue
            try:
                self._connect()
            except socketio.exceptions.ConnectionError:
                delay = min(delay * 2, 15.0)

    def _on_connect(self) -> None:
        self.events.connects.append(time.time())
        # Not sio.call: this runs on the client's reader, which must stay free for the ack.
        product, expiry = self.room
        self.sio.emit("subscribe", {"product": product, "expiry": expiry}, callback=self._on_ack)

    def _on_ack(self, ack: Any = None) -> None:
        if isinstance(ack, dict) and ack.get("ok"):
            self.events.subscribed.append(time.time())

    def _on_disconnect(self, reason: Any = None) -> None:
        now = time.time()
        self.events.disconnects.append(now)
        if reason == socketio.Client.reason.SERVER_DISCONNECT and not self._closed:
            threading.Thread(
                target=self._come_back, args=(now,), name="socket-back", daemon=True
            ).start()

    def _on_chain(self, payload: dict[str, Any]) -> None:
        self.events.chains.append((time.time(), origin_s(payload["timestamp"]), payload["seq"]))

    def back_after(self, fault_at: float) -> float | None:
        """When the client first held a chain newer than ``fault_at`` (published after it):
        an update, or the snapshot sent on subscribing after a reconnect; None if not yet.
        (A connection killed at the fault can carry nothing published after it.)"""
        return next(
            (at for at, origin, _ in self.events.chains if at > fault_at and origin > fault_at),
            None,
        )

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self.sio.disconnect()


class LogMarkers:
    """Numbered log lines appended to the ``logs`` stream as a service's shipper appends
    them (``XADD … MAXLEN ~``, the line in field ``line``), 50 a second, all with one trace
    id: which ones Redis acknowledged, and which the logging service has filed."""

    def __init__(self, url: str, logs_url: str, trace_id: str, maxlen: int = 100_000) -> None:
        self.url, self.logs_url, self.trace_id, self.maxlen = url, logs_url, trace_id, maxlen
        self.acked: set[int] = set()
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-markers", daemon=True)

    def start(self) -> LogMarkers:
        self._thread.start()
        return self

    def _run(self, every_s: float = 0.02) -> None:
        client = make_redis(self.url, retries=0, socket_timeout=2.0, connect_timeout=0.5)
        n = 0
        while not self._stop.wait(every_s):
            n += 1
            line = orjson.dumps({
                "time": dt.datetime.now(dt.UTC).isoformat(), "level": "INFO",
                "service": "chaos", "logger": "tests.chaos", "message": "marker", "n": n,
                "trace_id": self.trace_id,
            }).decode()  # fmt: skip
            try:
                client.xadd(LOG_STREAM, {FIELD: line}, maxlen=self.maxlen, approximate=True)
            except (redis.RedisError, OSError):
                self.refused += 1  # the shipper drops and counts these: not a loss here
                continue
            self.acked.add(n)
        client.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def filed(self) -> set[int]:
        """The markers ``GET /logs?trace_id=…`` returns (empty while the service is down)."""
        query = urllib.parse.urlencode({"trace_id": self.trace_id, "limit": 5000})
        try:
            with urllib.request.urlopen(f"{self.logs_url}/logs?{query}", timeout=5) as resp:
                body = orjson.loads(resp.read())
        except OSError:
            return set()
        return {int(line["n"]) for line in body["lines"]}


def backlog(client: redis.Redis, broker: redis.Redis) -> dict[str, int]:
    """What is still on its way: raw entries unread by the subscribers' group or read and
    not acknowledged, batches queued, and batches taken by a worker and not acknowledged
    (kombu's ``unacked`` hash, and the reliable fetch's in-flight list when there is one)."""
    unread = pending = 0
    for channel in MARKET_CHANNELS:
        key = raw_stream_key(Channel(channel))
        try:
            last = client.xinfo_stream(key)["last-generated-id"]
            groups = {g["name"]: g for g in client.xinfo_groups(key)}
        except redis.ResponseError:  # no stream yet
            continue
        group = groups.get(SUBSCRIBER_GROUP.encode()) or groups.get(SUBSCRIBER_GROUP)
        if group is None:
            unread += 1
            continue
        unread += group["last-delivered-id"] != last
        pending += int(group["pending"])
    return {
        "unread_streams": unread,
        "pending": pending,
        "queued": int(broker.llen(ENRICH_QUEUE)),
        "unacked": int(broker.hlen("unacked")),
        "inflight": int(broker.llen(f"unacked_inflight:{ENRICH_QUEUE}")),
    }


def drained(client: redis.Redis, broker: redis.Redis) -> bool:
    try:
        return not any(backlog(client, broker).values())
    except (redis.RedisError, OSError):
        return False
