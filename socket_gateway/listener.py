"""Reads ``enriched:option_chain`` and ``enriched:underlying`` and offers each update to
the fan-out, for the rooms that have clients in this instance.

Every instance reads both channels and emits to its own clients only, so an
update crosses Redis once per instance whatever the number of clients. A
message that cannot be routed (not JSON, no product or expiry) is counted,
logged and kept in ``deadletter:{channel}``; the listener goes on. A lost
connection is retried with capped, jittered backoff; updates published
meanwhile are lost to this instance (Pub/Sub), so once subscribed again it has
``resync`` offer each room with clients here its newest cached update: a quiet
market (or a feed that stopped) does not leave the clients on what they held
before the gap.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from common.deadletter import push_deadletters
from common.names import Channel
from socket_gateway.fanout import Update
from socket_gateway.metrics import LISTENER_RECONNECTS, LISTENER_RESYNCS, MALFORMED, UPDATES_IN
from socket_gateway.rooms import chain_room, underlying_room

log = logging.getLogger(__name__)

CHAIN_UPDATE = "chain_update"
UNDERLYING_UPDATE = "underlying_update"
CHANNELS = (Channel.ENRICHED_OPTION_CHAIN, Channel.ENRICHED_UNDERLYING)
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.2, 10.0
SILENT_PING_S, SILENT_DEAD_S = 10.0, 20.0
"""Silence after which the listener pings Redis, and after which it reconnects (seconds)."""
POLL_S = 1.0
"""How long one read waits for a message before the silence is looked at (seconds)."""


class SilentConnectionError(redis.ConnectionError):
    """Redis did not answer even a ping: the connection is treated as lost."""


class UnroutableError(ValueError):
    """An enriched message without what its room is named from."""


def route(channel: str, data: bytes) -> Update:
    """The room update a message of ``channel`` makes; :class:`UnroutableError` otherwise."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UnroutableError(f"not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise UnroutableError("not a JSON object")
    product = payload.get("product")
    if not isinstance(product, str) or not product:
        raise UnroutableError("no product")
    if channel == Channel.ENRICHED_OPTION_CHAIN:
        expiry = payload.get("expiry")
        if not isinstance(expiry, str) or not expiry:
            raise UnroutableError("no expiry")
        return Update(chain_room(product, expiry), CHAIN_UPDATE, payload)
    if channel == Channel.ENRICHED_UNDERLYING:
        return Update(underlying_room(product), UNDERLYING_UPDATE, payload)
    raise UnroutableError(f"unexpected channel {channel}")


class EnrichedListener:
    """One Pub/Sub subscription; :meth:`run` until :meth:`stop`.

    ``clock`` (seconds, monotonic) and the silences are replaceable for tests.
    """

    def __init__(
        self,
        connect: Callable[[], redis.Redis],
        offer: Callable[[Update], None],
        has_clients: Callable[[str], bool],
        *,
        deadletter_max: int,
        clock: Callable[[], float] = time.monotonic,
        silent_ping_s: float = SILENT_PING_S,
        silent_dead_s: float = SILENT_DEAD_S,
        poll_s: float = POLL_S,
        resync: Callable[[], int] | None = None,
    ) -> None:
        self._connect = connect
        self._resync = resync
        self._offer = offer
        self._has_clients = has_clients
        self._deadletter_max = deadletter_max
        self._clock = clock
        self._silent_ping_s = silent_ping_s
        self._silent_dead_s = silent_dead_s
        self._poll_s = poll_s
        self.last_heard = clock()
        """``clock`` time of the last message or pong read from Redis."""
        self._stopped = False
        self._pubsub: Any = None
        self._client: redis.Redis | None = None
        self.subscribed = False
        self._lost = False
        """A connection was lost since the last resync."""

    def handle(self, channel: str, data: bytes) -> None:
        UPDATES_IN.labels(channel).inc()
        try:
            update = route(channel, data)
        except UnroutableError as exc:
            MALFORMED.inc()
            if self._client is not None:
                try:
                    push_deadletters(
                        self._client, channel, [(data, str(exc))], "socket", self._deadletter_max
                    )
                except redis.RedisError:
                    log.warning("dead letter not kept", extra={"channel": channel})
            return
        if self._has_clients(update.room):
            self._offer(update)

    def _listen(self) -> None:
        """Route messages until the connection fails; a silent connection is pinged and,
        when even that gets no answer, treated as lost (a half-open TCP connection would
        otherwise block the read for hours while /readyz says ready)."""
        self.last_heard = self._clock()
        pinged = False
        while not self._stopped:
            message = self._pubsub.get_message(timeout=self._poll_s)
            now = self._clock()
            if message is not None:
                self.last_heard, pinged = now, False
                if message.get("type") == "message":
                    self.handle(message["channel"].decode(), message["data"])
                continue
            silence = now - self.last_heard
            if silence > self._silent_dead_s:
                raise SilentConnectionError(f"no answer from Redis for {silence:.0f} s")
            if silence > self._silent_ping_s and not pinged:
                self._pubsub.ping()  # its pong comes as a message, or nothing does
                pinged = True

    def run(self) -> None:
        backoff = _BACKOFF_FIRST_S
        while not self._stopped:
            try:
                self._client = self._connect()
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                self._pubsub.subscribe(*[c.value for c in CHANNELS])
                self.subscribed = True
                backoff = _BACKOFF_FIRST_S
                log.info("listening", extra={"channels": [c.value for c in CHANNELS]})
                if self._lost:
                    self._resync_after_gap()
                self._listen()
            except Exception as exc:  # Redis, the network, or a bug: log, back off, go on
                if self._stopped:
                    break
                self._lost = True
                unexpected = not isinstance(exc, redis.RedisError | OSError | ValueError)
                cause = "silent" if isinstance(exc, SilentConnectionError) else "error"
                LISTENER_RECONNECTS.labels(cause).inc()
                (log.exception if unexpected else log.warning)(
                    "enriched listener lost Redis; reconnecting",
                    extra={"error": f"{type(exc).__name__}: {exc}", "backoff_s": backoff},
                )
                time.sleep(random.uniform(0, backoff))  # full jitter
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            finally:
                self.subscribed = False
                self._close()

    def _resync_after_gap(self) -> None:
        """Subscribed again after a lost connection: the rooms' newest cached updates, once
        (updates from now on come through the subscription). A failure is logged and the
        listener goes on: the next update puts the rooms right, as it did before."""
        if self._resync is None:
            self._lost = False
            return
        try:
            rooms = self._resync()
        except Exception as exc:  # the cache, or a bug: the subscription itself is fine
            unexpected = not isinstance(exc, redis.RedisError | OSError)
            (log.exception if unexpected else log.warning)(
                "rooms not resynchronised after the gap",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
            return
        self._lost = False
        LISTENER_RESYNCS.inc()
        log.info("rooms resynchronised after the gap", extra={"rooms": rooms})

    def _close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                pubsub.close()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def stop(self) -> None:
        self._stopped = True
        self._close()
