"""One Socket.IO gateway instance: who may connect, what they subscribe to, and the
fan-out of enriched updates to their rooms."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import orjson
import redis
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import SocketIO

from common import latest
from common.access import AccessTokens, JwksUnavailable
from common.names import access_revoked_key
from common.products import serving_registry
from common.redis_client import make_redis
from common.settings import Settings
from common.timestamps import parse_ts
from common.tokens import Claims, TokenError, TokenExpiredError
from socket_gateway.fanout import Fanout, Mode, Update
from socket_gateway.handshake import HandshakeGuard
from socket_gateway.limits import ConnectionLimits
from socket_gateway.listener import CHAIN_UPDATE, UNDERLYING_UPDATE, EnrichedListener
from socket_gateway.metrics import (
    CONNECTIONS,
    DEGRADED,
    DELIVERY_DELAY,
    EMIT_LAG,
    EMITS,
    REFUSED,
    ROOMS,
    SUPERSEDED,
)
from socket_gateway.ratelimit import TokenBucket
from socket_gateway.rooms import Subscription, chain_room, underlying_room
from socket_gateway.sessions import EngineSessions

log = logging.getLogger(__name__)

NAMESPACE = "/"
REDIS_CONNECTIONS = 32
"""Connections to Redis one instance holds at most for snapshots and token checks."""


class Refusal(SocketRefused):  # type: ignore[misc]  # python-socketio is untyped
    """A refused connection: the client's ``connect_error`` has ``message`` = the reason
    and ``data`` = ``{code, message}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, {"code": code, "message": message})
        self.code = code


class SubscribeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": str(self)}


class SocketGateway:
    """State and policy of one instance; the event handlers (events.py) call it."""

    def __init__(self, settings: Settings, socketio: SocketIO, tokens: AccessTokens) -> None:
        assert settings.redis_url is not None
        self.settings = settings
        self.socketio = socketio
        self.tokens = tokens
        # Bounded: a reconnect storm of thousands of clients waits its turn for a connection
        # instead of opening one per green thread (each wait is short; a full wait refuses).
        self.redis = make_redis(
            settings.redis_url, socket_timeout=2.0, retries=1, max_connections=REDIS_CONNECTIONS
        )
        cfg = settings.socket
        self.latest = latest.LatestReader(self.redis)
        self.registry = serving_registry(settings)
        self.wall_clock: Callable[[], float] = time.time
        """Epoch seconds that date the updates emitted (their data's age); replaceable."""
        self.limits = ConnectionLimits(
            per_ip=cfg.max_connections_per_ip, subscriptions=cfg.max_subscriptions
        )
        self.clock: Callable[[], float] = time.monotonic
        """Monotonic seconds of the subscribe buckets; replaceable."""
        self.guard = HandshakeGuard(
            EngineSessions(
                per_ip=cfg.max_connections_per_ip,
                max_sessions=cfg.max_clients,
                max_pending=cfg.max_pending,
                auth_timeout_s=cfg.auth_timeout_s,
            )
        )
        self._buckets: dict[str, TokenBucket] = {}
        self.fanout = Fanout(
            self._emit,
            self._announce,
            degrade_lag_s=cfg.degrade_lag_ms / 1000,
            rate_hz=cfg.degraded_rate_hz,
            recover_s=cfg.recover_s,
            on_emitted=_observe,
        )
        self.listener = EnrichedListener(
            # reads wait at most 30 s: the listener pings a silent connection (listener.py)
            lambda: make_redis(cast(str, settings.redis_url), socket_timeout=30.0, retries=0),
            self.offer,
            self.has_clients,
            deadletter_max=settings.pipeline.deadletter_max,
            resync=self.resync,
        )
        self._claims: dict[str, Claims] = {}
        # A client may close while its connect waits on auth_service or Redis; its disconnect
        # then comes before the slot is taken, which would never be given back.
        self._connecting: set[str] = set()
        self._abandoned: set[str] = set()
        self._wake = threading.Event()
        self._stopped = False
        self._superseded_seen = 0
        ROOMS.set_function(self.room_count)

    # -- connections ---------------------------------------------------------------

    def authenticate(self, auth: object) -> Claims:
        """Claims of the access token in the connect ``auth`` payload, or :class:`Refusal`."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise Refusal("unauthorized", "missing access token (auth={token: ...})")
        try:
            claims = self.tokens.claims(token)
        except TokenExpiredError as exc:
            raise Refusal("token_expired", str(exc)) from exc
        except TokenError as exc:
            raise Refusal("invalid_token", str(exc)) from exc
        except JwksUnavailable as exc:
            raise Refusal("unavailable", "token keys unavailable; retry shortly") from exc
        try:
            revoked = self.tokens.revoked(claims, self.redis)
        except redis.RedisError as exc:
            raise Refusal("unavailable", "cannot check the token now; retry shortly") from exc
        if revoked:
            raise Refusal("token_revoked", "token revoked")
        return claims

    def connect(self, sid: str, ip: str, auth: object) -> Claims:
        self._connecting.add(sid)
        try:
            claims = self.authenticate(auth)  # may wait (JWKS, Redis): other clients run
            if sid in self._abandoned:
                raise Refusal("gone", "the connection closed during its handshake")
            if self.limits.connections >= self.settings.socket.max_clients:
                raise Refusal("too_many_connections", "this gateway is full; try another")
            if not self.limits.admit(sid, ip):
                raise Refusal(
                    "too_many_connections",
                    f"at most {self.limits.per_ip} connections per client address",
                )
        except Refusal as refusal:
            REFUSED.labels(refusal.code).inc()
            cause = refusal.__cause__
            detail = {"error": f"{type(cause).__name__}: {cause}"} if cause is not None else {}
            log.info("connection refused", extra={"reason": refusal.code, "ip": ip, **detail})
            raise
        finally:
            self._connecting.discard(sid)
            self._abandoned.discard(sid)
        self._claims[sid] = claims
        cfg = self.settings.socket
        self._buckets[sid] = TokenBucket(cfg.subscribe_rate_hz, cfg.subscribe_burst, self.clock())
        eio_sid = self._eio_sid(sid)
        if eio_sid is not None:  # (none in Flask-SocketIO's test client)
            self.guard.sessions.authenticated(eio_sid)
        CONNECTIONS.set(self.limits.connections)
        return claims

    def disconnect(self, sid: str) -> None:
        if sid in self._connecting:
            self._abandoned.add(sid)
        if sid in self._claims:  # admitted; its session may stay open: it must authenticate
            eio_sid = self._eio_sid(sid)  # again in time (a client that left the namespace)
            if eio_sid is not None:
                self.guard.sessions.unauthenticated(eio_sid, self.guard.clock())
        self.limits.release(sid)
        self._claims.pop(sid, None)
        self._buckets.pop(sid, None)
        CONNECTIONS.set(self.limits.connections)

    def _eio_sid(self, sid: str) -> str | None:
        """The Engine.IO session carrying the Socket.IO connection ``sid``."""
        found = self.socketio.server.manager.eio_sid_from_sid(sid, NAMESPACE)
        return str(found) if found is not None else None

    def throttle(self, sid: str) -> None:
        """Spend one of ``sid``'s subscribe/unsubscribe tokens; :class:`SubscribeError`
        ``rate_limited`` (naming the limit and when to retry) when it has none."""
        bucket = self._buckets.get(sid)
        if bucket is None:  # a subscribe racing its connection's end: nothing to limit
            return
        wait = bucket.take(self.clock())
        if wait > 0:
            raise SubscribeError(
                "rate_limited",
                f"at most {bucket.rate_hz:g} subscribe/unsubscribe a second per connection "
                f"(bursts of {bucket.burst}); retry in {wait:.2f} s",
            )

    def sweep_tokens(self, batch: int = 500, *, now: float | None = None) -> dict[str, str]:
        """Disconnect the clients whose token has expired or been revoked (logout) since
        they connected, each told why in an ``error`` event; sid → reason. ``now``:
        epoch seconds to judge expiry by (default the clock's; tests pass a later one)."""
        now = time.time() if now is None else now
        ended: dict[str, str] = {
            sid: "token_expired" for sid, c in self._claims.items() if c.exp <= now
        }
        alive = [(sid, c) for sid, c in list(self._claims.items()) if sid not in ended]
        for start in range(0, len(alive), batch):
            chunk = alive[start : start + batch]
            pipe = self.redis.pipeline(transaction=False)
            for _sid, claims in chunk:
                pipe.exists(access_revoked_key(claims.jti))
            for (sid, _claims), revoked in zip(chunk, pipe.execute(), strict=True):
                if revoked:
                    ended[sid] = "token_revoked"
        for sid, code in ended.items():
            message = (
                "token expired: reconnect with a fresh one"
                if code == "token_expired"
                else "token revoked"
            )
            self.socketio.emit(
                "error", {"code": code, "message": message}, to=sid, namespace=NAMESPACE,
                ignore_queue=True,
            )  # fmt: skip
            self.socketio.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
            self.disconnect(sid)
            REFUSED.labels(code).inc()
        return ended

    def run_token_sweep(self, period_s: float = 5.0) -> None:
        while not self._stopped:
            self.socketio.sleep(period_s)
            try:
                self.sweep_tokens()
            except redis.RedisError as exc:
                log.warning("token sweep skipped", extra={"error": str(exc)})

    def listener_check(self) -> None:
        """Readiness: subscribed to the enriched channels."""
        if not self.listener.subscribed:
            raise RuntimeError("not subscribed to the enriched channels")

    # -- subscriptions -------------------------------------------------------------

    def snapshot(self, sub: Subscription) -> list[tuple[str, dict[str, Any]]]:
        """The newest cached updates of ``sub`` as (event, payload); SubscribeError when
        nothing is live for it."""
        entries = [latest.underlying(sub.product)]
        if sub.expiry is not None:
            entries.insert(0, latest.chain(sub.product, sub.expiry))
        try:
            found = self.latest.get_many(entries)  # one round trip
        except redis.RedisError as exc:
            raise SubscribeError("unavailable", "cannot read the cache now; retry") from exc
        if sub.expiry is not None and found[0] is None:
            raise SubscribeError(
                "unknown_subscription", f"no live chain for {sub.product} {sub.expiry}"
            )
        if sub.expiry is None and found[0] is None:
            raise SubscribeError("unknown_subscription", f"no live data for {sub.product}")
        events = (CHAIN_UPDATE, UNDERLYING_UPDATE) if sub.expiry else (UNDERLYING_UPDATE,)
        return [
            (e, self.dated(orjson.loads(raw))) for e, raw in zip(events, found, strict=True) if raw
        ]

    def resync(self) -> int:
        """Each room with clients here offered its newest cached update (one ``MGET``): the
        listener calls it once subscribed again after a lost connection, since what was
        published meanwhile never reached it. The number of rooms offered one."""
        wanted: dict[str, tuple[str, latest.Entry]] = {}
        for sub in self.limits.held():
            if sub.expiry is not None:
                room = chain_room(sub.product, sub.expiry)
                wanted[room] = (CHAIN_UPDATE, latest.chain(sub.product, sub.expiry))
            wanted[underlying_room(sub.product)] = (
                UNDERLYING_UPDATE, latest.underlying(sub.product)
            )  # fmt: skip
        rooms = [room for room in wanted if self.has_clients(room)]
        found = self.latest.get_many([wanted[room][1] for room in rooms])
        offered = 0
        for room, raw in zip(rooms, found, strict=True):
            if raw is not None:
                self.offer(Update(room, wanted[room][0], orjson.loads(raw)))
                offered += 1
        return offered

    def dated(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` marked ``data_age_stale``/``data_age_s`` when its data is older than
        its product's ``stale_after_s`` now (common/latest.py); as it is otherwise."""
        product = payload.get("product")
        limit = self.registry.get(product if isinstance(product, str) else "").stale_after_s
        age = latest.stamp_age(payload.get("timestamp"), self.wall_clock(), limit)
        return latest.mark_data_age_fields(payload, age)

    def room_count(self) -> int:
        """Subscription rooms with clients here (each client's own room is not counted).

        The rooms come from the subscriptions held here; whether one has clients, from
        the Socket.IO manager (its public accessors, not its internal ``rooms`` dict)."""
        return sum(1 for room in self.limits.rooms() if self.has_clients(room))

    def has_clients(self, room: str) -> bool:
        """Whether ``room`` has clients connected to this instance."""
        participants = self.socketio.server.manager.get_participants(NAMESPACE, room)
        return next(iter(participants), None) is not None

    # -- fan-out -------------------------------------------------------------------

    def offer(self, update: Update) -> None:
        self.fanout.offer(update)
        if self.fanout.mode is Mode.NORMAL:  # degraded: the loop keeps its own pace
            self._wake.set()

    def _emit(self, update: Update) -> None:
        # Every instance reads the enriched channels itself: emit to local clients only.
        payload = self.dated(update.payload)  # dated when sent: a late update may be old
        self.socketio.emit(
            update.event, payload, to=update.room, namespace=NAMESPACE, ignore_queue=True
        )
        EMITS.labels(update.event).inc()

    def mode_body(self, mode: Mode | None = None) -> dict[str, object]:
        """The ``mode`` event of ``mode`` (default: the current one)."""
        mode = mode or self.fanout.mode
        rate = self.settings.socket.degraded_rate_hz if mode is Mode.DEGRADED else None
        return {"mode": mode.value, "max_rate_hz": rate}

    def _announce(self, mode: Mode) -> None:
        DEGRADED.set(1 if mode is Mode.DEGRADED else 0)
        log.warning("emit mode changed", extra={"mode": mode.value, "pending": self.fanout.pending})
        self.socketio.emit("mode", self.mode_body(mode), namespace=NAMESPACE, ignore_queue=True)

    def run_fanout(self) -> None:
        while not self._stopped:
            try:
                wait = self.fanout.step()
            except Exception:  # an emit that fails must not end the loop
                log.exception("fan-out step failed")
                wait = 0.1
            superseded = self.fanout.stats.superseded
            if superseded > self._superseded_seen:
                SUPERSEDED.inc(superseded - self._superseded_seen)
                self._superseded_seen = superseded
            if wait > 0:
                self._wake.wait(timeout=wait)
                self._wake.clear()
            else:
                self.socketio.sleep(0)  # let the clients' writers run

    def probe_lateness(self, period_s: float = 0.1) -> None:
        """How late a green thread asking to sleep ``period_s`` wakes: the hub's congestion
        (emits only queue packets; the clients' writers run in other green threads)."""
        while not self._stopped:
            planned = time.monotonic() + period_s
            self.socketio.sleep(period_s)
            self.fanout.note_lateness(max(0.0, time.monotonic() - planned))

    def start(self) -> None:
        """Start the listener, the fan-out loop, the lateness probe, the token sweep and
        the sweep of sessions that do not authenticate in time."""
        self.socketio.start_background_task(self.listener.run)
        self.socketio.start_background_task(self.run_fanout)
        self.socketio.start_background_task(self.probe_lateness)
        self.socketio.start_background_task(self.run_token_sweep)
        self.socketio.start_background_task(
            self.guard.run, lambda: self._stopped, self.socketio.sleep
        )

    def stop(self) -> None:
        self._stopped = True
        self.listener.stop()
        self._wake.set()


def _observe(update: Update, lag_s: float) -> None:
    EMIT_LAG.observe(lag_s)
    origin = update.payload.get("timestamp")
    if isinstance(origin, str):
        with contextlib.suppress(ValueError):
            DELIVERY_DELAY.observe(max(0.0, time.time() - parse_ts(origin).timestamp()))
