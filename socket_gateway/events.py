"""The Socket.IO events: connect (token, limits, the user's own room), subscribe /
unsubscribe, disconnect."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import SocketIO, emit, join_room, leave_room
from marshmallow import ValidationError

from common.names import user_room
from socket_gateway.fanout import Mode
from socket_gateway.gateway import NAMESPACE, SocketGateway, SubscribeError
from socket_gateway.metrics import SUBSCRIBES, UNSUBSCRIBES
from socket_gateway.rooms import SUBSCRIPTION, Subscription

log = logging.getLogger(__name__)

Ack = dict[str, Any]


def _sid() -> str:
    return str(request.sid)  # type: ignore[attr-defined]  # set by Flask-SocketIO


def _parse(data: object) -> Subscription:
    try:
        loaded: Subscription = SUBSCRIPTION.load(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        messages = exc.messages
        raise SubscribeError("invalid_subscription", f"invalid subscription: {messages}") from exc
    return loaded


def _failed(error: SubscribeError, outcome: str, counter: Any = SUBSCRIBES) -> Ack:
    counter.labels(outcome).inc()
    emit("error", error.body(), ignore_queue=True)  # this client is here: not via Redis
    return {"ok": False, "error": error.body()}


def register(socketio: SocketIO, gateway: SocketGateway) -> None:
    @socketio.on("connect", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def connect(auth: object = None) -> None:
        claims = gateway.connect(_sid(), request.remote_addr or "unknown", auth)
        # The user's own room (the workers' ``alert`` events): not a subscription, so it
        # takes no subscription slot and is not among the rooms counted; left on disconnect.
        join_room(user_room(claims.sub))
        log.info("connected", extra={"user": claims.sub, "sid": _sid()})

    @socketio.on("disconnect", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def disconnect(*_reason: object) -> None:
        gateway.disconnect(_sid())

    @socketio.on("subscribe", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def subscribe(data: object = None) -> Ack:
        sid = _sid()
        try:
            gateway.throttle(sid)  # first: even a malformed subscribe costs a token
            sub = _parse(data)
            # Reserve the slot before the Redis read yields: concurrent subscribes of one
            # connection (each its own green thread) cannot pass the limit together.
            held_before = sub in gateway.limits.subscriptions(sid)
            if not gateway.limits.reserve(sid, sub):
                raise SubscribeError(
                    "too_many_subscriptions",
                    f"at most {gateway.limits.max_subscriptions} subscriptions per connection",
                )
            if held_before:  # joined already: acknowledged, no second snapshot
                SUBSCRIBES.labels("repeat").inc()
                return {"ok": True, "rooms": list(sub.rooms)}
            for room in sub.rooms:  # join first: an update from now on is not missed
                join_room(room)
            try:
                snapshot = gateway.snapshot(sub)
            except SubscribeError:
                gateway.limits.remove(sid, sub)
                for room in sub.rooms:
                    if not gateway.limits.still_wanted(sid, room):
                        leave_room(room)
                raise
        except SubscribeError as error:
            return _failed(error, error.code)
        for event, payload in snapshot:  # the newest cached, at once, to this client only
            emit(event, payload, ignore_queue=True)
        if gateway.fanout.mode is not Mode.NORMAL:  # it joined while updates are capped
            emit("mode", gateway.mode_body(), ignore_queue=True)
        SUBSCRIBES.labels("ok").inc()
        return {"ok": True, "rooms": list(sub.rooms)}

    @socketio.on("unsubscribe", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def unsubscribe(data: object = None) -> Ack:
        sid = _sid()
        try:
            gateway.throttle(sid)
            sub = _parse(data)
        except SubscribeError as error:
            return _failed(error, error.code, UNSUBSCRIBES)
        if not gateway.limits.remove(sid, sub):
            missing = SubscribeError("not_subscribed", "no such subscription")
            return _failed(missing, missing.code, UNSUBSCRIBES)
        for room in sub.rooms:
            if not gateway.limits.still_wanted(sid, room):
                leave_room(room)
        UNSUBSCRIBES.labels("ok").inc()
        return {"ok": True, "rooms": list(sub.rooms)}
