"""The Socket.IO events: connect (token, limits), subscribe / unsubscribe, disconnect."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import SocketIO, emit, join_room, leave_room
from marshmallow import ValidationError

from socket_gateway.gateway import NAMESPACE, SocketGateway, SubscribeError
from socket_gateway.metrics import ROOMS, SUBSCRIBES
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


def _failed(error: SubscribeError, outcome: str) -> Ack:
    SUBSCRIBES.labels(outcome).inc()
    emit("error", error.body())
    return {"ok": False, "error": error.body()}


def register(socketio: SocketIO, gateway: SocketGateway) -> None:
    @socketio.on("connect", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def connect(auth: object = None) -> None:
        claims = gateway.connect(_sid(), request.remote_addr or "unknown", auth)
        log.info("connected", extra={"user": claims.sub, "sid": _sid()})

    @socketio.on("disconnect", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def disconnect(*_reason: object) -> None:
        gateway.disconnect(_sid())

    @socketio.on("subscribe", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def subscribe(data: object = None) -> Ack:
        sid = _sid()
        try:
            sub = _parse(data)
            if not gateway.limits.can_add(sid, sub):
                raise SubscribeError(
                    "too_many_subscriptions",
                    f"at most {gateway.limits.max_subscriptions} subscriptions per connection",
                )
            for room in sub.rooms:  # join first: an update from now on is not missed
                join_room(room)
            try:
                snapshot = gateway.snapshot(sub)
            except SubscribeError:
                for room in sub.rooms:
                    if not gateway.limits.still_wanted(sid, room):
                        leave_room(room)
                raise
        except SubscribeError as error:
            return _failed(error, error.code)
        gateway.limits.add(sid, sub)
        for event, payload in snapshot:  # the newest cached, at once
            emit(event, payload)
        SUBSCRIBES.labels("ok").inc()
        ROOMS.set(gateway.room_count())
        return {"ok": True, "rooms": list(sub.rooms)}

    @socketio.on("unsubscribe", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    def unsubscribe(data: object = None) -> Ack:
        sid = _sid()
        try:
            sub = _parse(data)
        except SubscribeError as error:
            return _failed(error, error.code)
        if not gateway.limits.remove(sid, sub):
            return _failed(SubscribeError("not_subscribed", "no such subscription"), "unknown")
        for room in sub.rooms:
            if not gateway.limits.still_wanted(sid, room):
                leave_room(room)
        ROOMS.set(gateway.room_count())
        return {"ok": True, "rooms": list(sub.rooms)}
