"""Paper trading as deployed: paper_service under gunicorn behind the real gateway (JWT, the
service credential, validation), an enriched NIFTY chain in a real Redis cached as the
workers cache it, the real SQLite paper store. Fills at the quote with exact numbers, one
order and one fill from 8 concurrent requests with one client_order_id, a resting limit
order and its version token, the CSV, owners, 422s naming fields, the events on the
Socket.IO channel. One stack for the module."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from common.embedded_redis import EmbeddedRedis
from common.names import SOCKETIO_CHANNEL, paper_version_key
from common.redis_client import make_redis, redis_db_url
from common.timestamps import format_ts
from optionsmath import enrich_chain
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.chains import build_chain
from tests.support.latest import put_chain

pytestmark = pytest.mark.redis

PAPER_DB = 8
EXPIRY = (dt.datetime.now(dt.UTC) + dt.timedelta(days=6)).date().isoformat()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Stack]:
    env = {"RATE_LIMIT_USER": "1000/second", "PAPER_START_CASH": "INR:1000000",
           "PAPER_FEE_RATE": "0.0005", "DATA_STALE_AFTER_S": "3600"}  # fmt: skip
    started = start_stack(
        tmp_path_factory.mktemp("paper-trading"),
        redis_db_url(redis_server.url, PAPER_DB),
        env,
        services=("auth_service", "paper_service"),
    )
    try:
        client = make_redis(started.redis_url)
        origin = format_ts(dt.datetime.now(dt.UTC))
        chain = enrich_chain(build_chain(expiry=EXPIRY, timestamp=origin), processed_at=origin)
        row = next(r for r in chain["calls"] if r["strike"] == 24_000.0)
        row["bid"], row["ask"] = 119.5, 120.5
        put_chain(client, "NIFTY", EXPIRY, orjson.dumps(chain))
        client.close()
        yield started
    finally:
        started.procs.close()


class User:
    def __init__(self, stack: Stack, name: str) -> None:
        self.token = stack.login(name)["access_token"]
        self.stack = stack

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.stack.json(method, "/api" + path, body=body, token=self.token)


def order(cid: str, **more: Any) -> dict[str, Any]:
    return {"client_order_id": cid, "product": "NIFTY", "expiry": EXPIRY, "strike": 24_000,
            "option_type": "CALL", "side": "BUY", "quantity": 75, **more}  # fmt: skip


def test_a_market_buy_through_the_gateway(stack: Stack) -> None:
    carol = User(stack, "carol")
    status, body = carol.call("POST", "/paper/orders", order("g1"))
    assert status == 201, body
    assert (body["state"], body["fills"][0]["price"], body["fills"][0]["fee"]) == (
        "FILLED", "120.5", "4.52")  # fmt: skip
    [account] = carol.call("GET", "/paper/account")[1]["accounts"]
    assert (account["cash"], account["equity"], account["unrealized_pnl"]) == (
        "990957.98", "999957.98", "-37.50")  # fmt: skip
    status, headers, csv = stack.request("GET", "/api/paper/trades.csv", token=carol.token)
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="paper-trades.csv"'
    assert csv.decode().splitlines()[1].split(",")[4] == "g1"  # client_order_id


def test_eight_concurrent_requests_with_one_id_place_once(stack: Stack) -> None:
    dave = User(stack, "dave")
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def send() -> None:
        answer = dave.call("POST", "/paper/orders", order("race"))
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({body["id"] for _, body in answers}) == 1
    _, trades = dave.call("GET", "/paper/trades")
    assert len(trades["trades"]) == 1
    assert len(dave.call("GET", "/paper/orders")[1]["orders"]) == 1


def test_a_limit_rests_announces_and_is_cancelled_by_its_owner_only(stack: Stack) -> None:
    erin, frank = User(stack, "erin"), User(stack, "frank")
    client = make_redis(stack.redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe(SOCKETIO_CHANNEL)
    try:
        status, body = erin.call("POST", "/paper/orders", order("rest", type="LIMIT",
                                                                limit_price="100"))  # fmt: skip
        assert (status, body["state"]) == (201, "NEW"), body
        assert client.get(paper_version_key("NIFTY")) is not None
        published = []
        for _ in range(20):
            message = pubsub.get_message(timeout=0.5)
            if message is not None and message["type"] == "message":
                published.append(json.loads(message["data"]))
                break
        assert published
        assert published[0]["event"] == "order_update"
        assert published[0]["data"][0]["id"] == body["id"]  # the queue packs the arguments
        assert published[0]["room"] == f"user:{body['owner']}"
        assert frank.call("DELETE", f"/paper/orders/{body['id']}")[0] == 404
        assert frank.call("GET", f"/paper/orders/{body['id']}")[0] == 404
        status, cancelled = erin.call("DELETE", f"/paper/orders/{body['id']}")
        assert (status, cancelled["state"]) == (200, "CANCELLED")
    finally:
        pubsub.close()
        client.close()


def test_faults_name_their_field_at_the_gateway(stack: Stack) -> None:
    gina = User(stack, "gina")
    status, body = gina.call("POST", "/paper/orders", order("q", quantity="abc"))
    assert (status, list(body["error"]["fields"])) == (422, ["quantity"])
    status, body = gina.call("POST", "/paper/orders", order("q", quantity=10))  # the lot: 75
    assert (status, list(body["error"]["fields"])) == (422, ["quantity"])
    assert gina.call("GET", "/paper/orders/nope")[0] == 422
