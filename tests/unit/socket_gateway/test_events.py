"""Connect, subscribe, unsubscribe and the fan-out, in-process against a real Redis."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import redis
from flask import Flask

import socket_gateway
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common import latest
from common.names import DENY_LIST_MARK_KEY, Channel, access_revoked_key, deadletter_key
from common.settings import Settings
from socket_gateway.fanout import Mode
from socket_gateway.gateway import Refusal
from socket_gateway.rooms import Subscription
from tests.support.latest import put_chain, put_underlying
from tests.unit.socket_gateway.conftest import gateway

CHAIN = {
    "product": "NIFTY",
    "expiry": "2099-12-31",
    "seq": 7,
    "timestamp": "2026-12-02T10:00:00.000Z",
}
TICK = {"product": "NIFTY", "price": 24_000.5, "seq": 3, "timestamp": "2026-12-02T10:00:00.000Z"}
ORIGIN_S = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC).timestamp()
"""CHAIN's and TICK's origin instant, epoch seconds."""


def _client(app: Flask, auth: object) -> Any:
    return app.extensions["socketio"].test_client(app, auth=auth)


def _events(client: Any, name: str) -> list[Any]:
    return [m["args"][0] for m in client.get_received() if m["name"] == name]


def _cache(client: redis.Redis) -> None:
    put_chain(client, "NIFTY", "2099-12-31", orjson.dumps(CHAIN))
    put_underlying(client, "NIFTY", orjson.dumps(TICK))


def test_connect_needs_a_valid_unrevoked_token(
    app: Flask, token: Callable[..., str], other_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    assert not _client(app, None).is_connected()
    assert not _client(app, {"token": ""}).is_connected()
    assert not _client(app, {"token": "not.a.jwt"}).is_connected()
    foreign = TokenService(other_keys).issue_access("u1", Role.USER)
    assert not _client(app, {"token": foreign}).is_connected()
    expired = token(clock=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert not _client(app, {"token": expired}).is_connected()
    good = token()
    assert _client(app, {"token": good}).is_connected()
    jti = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=="))["jti"]
    redis_client.set(access_revoked_key(jti), 1)
    assert not _client(app, {"token": good}).is_connected()
    assert gateway(app).limits.connections == 1


def test_connections_per_address_are_limited(app: Flask, token: Callable[..., str]) -> None:
    clients = [_client(app, {"token": token(f"u{i}")}) for i in range(4)]
    assert [c.is_connected() for c in clients] == [True, True, True, False]
    clients[0].disconnect()
    assert _client(app, {"token": token()}).is_connected()  # a slot came free


def test_subscribe_sends_the_cached_snapshot_first(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    gateway(app).wall_clock = lambda: ORIGIN_S + 2.0  # 2 s old: fresh (NIFTY's limit is 5 s)
    client = _client(app, {"token": token()})
    ack = client.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, callback=True)
    assert ack == {"ok": True, "rooms": ["chain:NIFTY:2099-12-31", "underlying:NIFTY"]}
    received = client.get_received()
    assert [(m["name"], m["args"][0]) for m in received] == [
        ("chain_update", CHAIN), ("underlying_update", TICK)
    ]  # fmt: skip
    ack = client.emit("subscribe", {"product": "NIFTY"}, callback=True)
    assert ack == {"ok": True, "rooms": ["underlying:NIFTY"]}
    assert _events(client, "underlying_update") == [TICK]


def test_old_data_is_marked_stale_in_the_snapshot_and_the_updates(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    btc = {**CHAIN, "product": "BTC", "expiry": "2099-12-25"}
    put_chain(redis_client, "BTC", "2099-12-25", orjson.dumps(btc))
    gw = gateway(app)
    gw.wall_clock = lambda: ORIGIN_S + 120.0  # two minutes after the data's origin
    client = _client(app, {"token": token()})
    client.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, callback=True)
    marked = {"data_age_stale": True, "data_age_s": 120.0}
    assert [(m["name"], m["args"][0]) for m in client.get_received()] == [
        ("chain_update", {**marked, **CHAIN}), ("underlying_update", {**marked, **TICK})
    ]  # fmt: skip

    gw.listener.handle(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps({**CHAIN, "seq": 8}))
    gw.wall_clock = lambda: ORIGIN_S + 5.5  # dated when emitted: 5.5 s > NIFTY's 5 s
    gw.fanout.step()
    assert _events(client, "chain_update") == [
        {"data_age_stale": True, "data_age_s": 5.5, **CHAIN, "seq": 8}
    ]
    gw.listener.handle(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps({**CHAIN, "seq": 9}))
    gw.wall_clock = lambda: ORIGIN_S + 4.5
    gw.fanout.step()
    assert _events(client, "chain_update") == [{**CHAIN, "seq": 9}]  # fresh: no age members

    # The limit is the product's: 5.5 s is fresh for BTC (Deribit's 10 s), 10.5 s is not.
    gw.wall_clock = lambda: ORIGIN_S + 5.5
    client.emit("subscribe", {"product": "BTC", "expiry": "2099-12-25"}, callback=True)
    assert _events(client, "chain_update") == [btc]
    gw.listener.handle(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps({**btc, "seq": 8}))
    gw.wall_clock = lambda: ORIGIN_S + 10.5
    gw.fanout.step()
    assert _events(client, "chain_update") == [
        {"data_age_stale": True, "data_age_s": 10.5, **btc, "seq": 8}
    ]


def test_bad_and_unknown_subscriptions_get_an_error_event(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    client = _client(app, {"token": token()})
    cases = [
        ({"product": "nifty", "expiry": "2099-12-31"}, "invalid_subscription"),
        ({"product": "NIFTY", "expiry": "2099-13-01"}, "invalid_subscription"),
        ("NIFTY", "invalid_subscription"),
        ({"product": "NIFTY", "expiry": "2099-12-30"}, "unknown_subscription"),
        ({"product": "BANKNIFTY"}, "unknown_subscription"),
    ]
    for payload, code in cases:
        ack = client.emit("subscribe", payload, callback=True)
        assert ack["ok"] is False, payload
        assert ack["error"]["code"] == code, payload
        assert [e["code"] for e in _events(client, "error")] == [code], payload
    assert gateway(app).room_count() == 0  # nothing joined on the way


def test_subscriptions_per_connection_are_limited(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    put_chain(redis_client, "NIFTY", "2099-12-24", orjson.dumps({**CHAIN, "expiry": "2099-12-24"}))
    put_chain(redis_client, "NIFTY", "2099-12-17", orjson.dumps({**CHAIN, "expiry": "2099-12-17"}))
    client = _client(app, {"token": token()})
    acks = [
        client.emit("subscribe", {"product": "NIFTY", "expiry": e}, callback=True)
        for e in ("2099-12-31", "2099-12-24", "2099-12-31", "2099-12-17")
    ]
    assert [a["ok"] for a in acks] == [True, True, True, False]  # the repeat costs nothing
    assert acks[3]["error"]["code"] == "too_many_subscriptions"
    ack = client.emit("unsubscribe", {"product": "NIFTY", "expiry": "2099-12-24"}, callback=True)
    assert ack["ok"] is True
    again = client.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-17"}, callback=True)
    assert again["ok"] is True
    missing = client.emit(
        "unsubscribe", {"product": "NIFTY", "expiry": "2099-12-24"}, callback=True
    )
    assert missing["error"]["code"] == "not_subscribed"


def test_updates_reach_the_subscribed_rooms_only(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    put_chain(redis_client, "NIFTY", "2099-12-24", orjson.dumps({**CHAIN, "expiry": "2099-12-24"}))
    far, near = _client(app, {"token": token("a")}), _client(app, {"token": token("b")})
    far.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, callback=True)
    near.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-24"}, callback=True)
    far.get_received(), near.get_received()
    gw = gateway(app)
    assert gw.room_count() == 3  # two chains and the underlying they share
    assert gw.has_clients("chain:NIFTY:2099-12-24")
    assert not gw.has_clients("chain:NIFTY:2099-12-17")
    newer = {**CHAIN, "seq": 8}
    gw.listener.handle(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps(newer))
    gw.listener.handle(
        Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps({**CHAIN, "product": "TCS"})
    )
    gw.listener.handle(Channel.ENRICHED_UNDERLYING.value, orjson.dumps({**TICK, "seq": 4}))
    gw.fanout.step()
    assert [(m["name"], m["args"][0]["seq"]) for m in far.get_received()] == [
        ("chain_update", 8), ("underlying_update", 4)
    ]  # fmt: skip
    assert [(m["name"], m["args"][0]["seq"]) for m in near.get_received()] == [
        ("underlying_update", 4)
    ]
    far.emit("unsubscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, callback=True)
    gw.listener.handle(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps({**CHAIN, "seq": 9}))
    gw.fanout.step()
    assert far.get_received() == []
    assert gw.fanout.stats.offered == 2  # TCS, and seq 9 after the unsubscribe: no room here
    assert gw.room_count() == 2  # near's chain and underlying
    assert not gw.has_clients("chain:NIFTY:2099-12-31")
    near.disconnect()
    assert gw.room_count() == 0


def test_a_resync_offers_each_room_with_clients_its_newest_cached_update(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    """What the listener asks for once subscribed again after a lost connection: the updates
    published during the gap never reached it, so each room held here gets the cache's."""
    _cache(redis_client)
    put_chain(redis_client, "NIFTY", "2099-12-24", orjson.dumps({**CHAIN, "expiry": "2099-12-24"}))
    chain_only, gone = _client(app, {"token": token("a")}), _client(app, {"token": token("b")})
    chain_only.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, callback=True)
    gone.emit("subscribe", {"product": "NIFTY", "expiry": "2099-12-24"}, callback=True)
    gone.disconnect()  # its chain's room has no client left: not read, not offered
    chain_only.get_received()
    gw = gateway(app)
    assert gw.resync() == 2  # the chain and the underlying, as cached: the same seqs again
    gw.fanout.step()
    assert [(m["name"], m["args"][0]["seq"]) for m in chain_only.get_received()] == [
        ("chain_update", 7), ("underlying_update", 3)
    ]  # fmt: skip
    # During the gap the workers cached newer ones (their broadcasts were lost to Pub/Sub).
    put_chain(redis_client, "NIFTY", "2099-12-31", orjson.dumps({**CHAIN, "seq": 12}))
    redis_client.delete(latest.underlying("NIFTY").key)  # expired meanwhile
    assert gw.resync() == 1
    gw.fanout.step()
    (update,) = chain_only.get_received()
    assert (update["name"], update["args"][0]["seq"]) == ("chain_update", 12)
    assert update["args"][0]["data_age_stale"] is True  # dated when sent, as every update
    chain_only.disconnect()
    assert gw.resync() == 0


def test_unroutable_messages_are_dead_lettered(app: Flask, redis_client: redis.Redis) -> None:
    gw = gateway(app)
    gw.listener._client = redis_client  # the listener's connection, as when it runs
    for raw in (b"not json", b"[1]", b'{"expiry": "2099-12-31"}', b'{"product": "NIFTY"}'):
        gw.listener.handle(Channel.ENRICHED_OPTION_CHAIN.value, raw)
    entries = [
        json.loads(e) for e in redis_client.lrange(deadletter_key("enriched:option_chain"), 0, -1)
    ]
    assert [e["reason"] for e in reversed(entries)] == [
        entries[-1]["reason"],
        "not a JSON object",
        "no product",
        "no expiry",
    ]
    assert entries[-1]["reason"].startswith("not JSON")
    assert {e["stage"] for e in entries} == {"socket"}


def test_a_mode_change_is_told_to_every_client(app: Flask, token: Callable[..., str]) -> None:
    client = _client(app, {"token": token()})
    gateway(app)._announce(Mode.DEGRADED)
    gateway(app)._announce(Mode.NORMAL)
    assert _events(client, "mode") == [
        {"mode": "degraded", "max_rate_hz": 1.0}, {"mode": "normal", "max_rate_hz": None}
    ]  # fmt: skip


def test_a_lost_deny_list_refuses_connections_until_it_is_written_back(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    """Redis restarted empty (or failed over): a logged-out token would pass until
    auth_service writes the deny-list back, so the gateway that saw the list's mark refuses
    every connection as "unavailable" (retry shortly) until the mark is back."""
    gw = gateway(app)
    redis_client.set(DENY_LIST_MARK_KEY, 1)  # auth_service marks a whole list
    good, logged_out = token("u1"), token("u2")
    jti = json.loads(base64.urlsafe_b64decode(logged_out.split(".")[1] + "=="))["jti"]
    gw.connect("sid-1", "10.0.0.1", {"token": good})  # the gateway has seen the mark
    redis_client.flushall()  # the list, its mark and the revocation of u2's token: gone
    for who in (good, logged_out):
        with pytest.raises(Refusal) as refused:
            gw.connect("sid-2", "10.0.0.2", {"token": who})
        assert refused.value.code == "unavailable"
    redis_client.set(access_revoked_key(jti), 1)  # auth_service writes the list back
    redis_client.set(DENY_LIST_MARK_KEY, 1)
    with pytest.raises(Refusal) as refused:
        gw.connect("sid-3", "10.0.0.3", {"token": logged_out})
    assert refused.value.code == "token_revoked"
    assert gw.connect("sid-4", "10.0.0.4", {"token": good}).sub == "u1"


def test_each_refusal_says_why(
    app: Flask, socket_settings: Settings, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    gw = gateway(app)
    expired = token(clock=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    revoked = token("u7")
    jti = json.loads(base64.urlsafe_b64decode(revoked.split(".")[1] + "=="))["jti"]
    redis_client.set(access_revoked_key(jti), 1)
    cases = [
        (None, "unauthorized"), ({"token": 7}, "unauthorized"),
        ({"token": "a.b.c"}, "invalid_token"), ({"token": expired}, "token_expired"),
        ({"token": revoked}, "token_revoked"),
    ]  # fmt: skip
    for auth, code in cases:
        with pytest.raises(Refusal) as refused:
            gw.connect("sid-x", "10.0.0.1", auth)
        assert refused.value.code == code, auth
    assert gw.limits.connections == 0  # refused connections hold no slot
    # auth_service unreachable and no keys yet: "unavailable", not a crash
    down = dataclasses.replace(socket_settings.http, auth_url="http://127.0.0.1:9")
    lonely = socket_gateway.create_app(
        dataclasses.replace(socket_settings, http=down), async_mode="threading", message_queue=False
    )
    with pytest.raises(Refusal) as refused:
        gateway(lonely).connect("sid-y", "10.0.0.1", {"token": token()})
    assert refused.value.code == "unavailable"


def test_a_connection_closed_during_its_handshake_holds_no_slot(
    app: Flask, token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = gateway(app)
    checked = gw.tokens.revoked

    def client_leaves_meanwhile(claims: Any, client: redis.Redis) -> bool:
        gw.disconnect("sid-z")  # the transport closed while the gateway asked Redis
        return bool(checked(claims, client))

    monkeypatch.setattr(gw.tokens, "revoked", client_leaves_meanwhile)
    with pytest.raises(Refusal) as refused:
        gw.connect("sid-z", "10.0.0.3", {"token": token()})
    assert refused.value.code == "gone"
    assert gw.limits.connections == 0
    monkeypatch.undo()
    for i in range(3):  # every slot of the address is still free
        gw.connect(f"sid-{i}", "10.0.0.3", {"token": token()})
    assert gw.limits.connections == 3
    gw.disconnect("sid-0")  # an ordinary disconnect after the handshake
    gw.connect("sid-z", "10.0.0.3", {"token": token()})  # not remembered as abandoned
    assert gw.limits.connections == 3


def test_a_subscription_is_not_kept_for_a_closed_connection(app: Flask) -> None:
    limits = gateway(app).limits
    assert limits.admit("sid-1", "10.0.0.2")
    sub = Subscription("NIFTY", "2099-12-31")
    assert limits.reserve("sid-1", sub)
    limits.release("sid-1")
    assert not limits.reserve("sid-1", sub)  # a subscribe that finished after the disconnect
    assert limits.subscriptions("sid-1") == set()


def test_logout_and_expiry_end_a_live_connection(
    app: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    gw = gateway(app)
    short = TokenService(signing_keys, access_ttl=dt.timedelta(seconds=2))
    expiring = _client(app, {"token": short.issue_access("u1", Role.USER)})
    staying_token = TokenService(signing_keys).issue_access("u2", Role.USER)
    staying = _client(app, {"token": staying_token})
    leaving_token = TokenService(signing_keys).issue_access("u3", Role.USER)
    leaving = _client(app, {"token": leaving_token})
    assert gw.sweep_tokens() == {}
    jti = json.loads(base64.urlsafe_b64decode(leaving_token.split(".")[1] + "=="))["jti"]
    redis_client.set(access_revoked_key(jti), 1)  # logged out
    later = time.time() + 2.1  # the short token has expired by then
    assert sorted(gw.sweep_tokens(now=later).values()) == ["token_expired", "token_revoked"]
    assert not expiring.is_connected()
    assert not leaving.is_connected()
    assert staying.is_connected()
    assert gw.limits.connections == 1


def test_a_repeated_subscribe_is_acknowledged_without_a_second_snapshot(
    app: Flask, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    gateway(app).wall_clock = lambda: ORIGIN_S + 2.0
    client = _client(app, {"token": token()})
    sub = {"product": "NIFTY", "expiry": "2099-12-31"}
    acks = [client.emit("subscribe", sub, callback=True) for _ in range(3)]
    assert acks == [{"ok": True, "rooms": ["chain:NIFTY:2099-12-31", "underlying:NIFTY"]}] * 3
    assert [m["name"] for m in client.get_received()] == ["chain_update", "underlying_update"]
    client.emit("unsubscribe", sub, callback=True)
    client.emit("subscribe", sub, callback=True)  # new again after the unsubscribe
    assert [m["name"] for m in client.get_received()] == ["chain_update", "underlying_update"]


def test_subscribe_and_unsubscribe_share_a_token_bucket_per_connection(
    app: Flask, socket_settings: Settings, token: Callable[..., str], redis_client: redis.Redis
) -> None:
    _cache(redis_client)
    gw = gateway(app)
    now = [1000.0]
    gw.clock = lambda: now[0]
    rate, burst = socket_settings.socket.subscribe_rate_hz, socket_settings.socket.subscribe_burst
    client, other = _client(app, {"token": token("a")}), _client(app, {"token": token("b")})
    sub = {"product": "NIFTY"}
    acks = [
        client.emit("unsubscribe" if i % 2 else "subscribe", sub, callback=True)
        for i in range(burst + 3)
    ]
    assert [a["ok"] for a in acks] == [True] * burst + [False] * 3
    message = (
        f"at most {rate:g} subscribe/unsubscribe a second per connection (bursts of {burst}); "
        f"retry in {1 / rate:.2f} s"
    )
    assert acks[-1]["error"] == {"code": "rate_limited", "message": message}
    client.get_received()
    assert client.emit("subscribe", {"product": "bad!"}, callback=True)["error"]["code"] == (
        "rate_limited"  # checked before the payload: a malformed one costs a token too
    )
    assert _events(client, "error") == [{"code": "rate_limited", "message": message}]
    assert other.emit("subscribe", sub, callback=True)["ok"] is True  # its own bucket
    now[0] += 1 / rate  # one token back
    assert client.emit("subscribe", sub, callback=True)["ok"] is True
    assert client.emit("unsubscribe", sub, callback=True)["error"]["code"] == "rate_limited"
    assert client.is_connected()
