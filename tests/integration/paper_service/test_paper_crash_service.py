"""The crash test through the service: a paper_service process (the Flask app on a werkzeug
server in a spawned process, its SQLite paper store's checkpoint hook waiting at one step of
the write) is SIGKILLed while it places an order over HTTP. Afterwards the order is there
whole or not at all, and re-sending the same client_order_id to a new process gives exactly
one order and one fill."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from common.embedded_redis import EmbeddedRedis, free_port
from common.redis_client import make_redis, redis_db_url
from common.timestamps import format_ts
from optionsmath import enrich_chain
from paper.rules import AccountRules
from store.paper.sqlite import SqlitePaperStore
from tests.support.chains import build_chain
from tests.support.latest import put_chain

pytestmark = pytest.mark.redis

CRASH_DB = 7
"""A database of the session's Redis for this module alone."""
RULES = AccountRules(start_cash={"INR": Decimal(1_000_000)}, fee_rate=Decimal("0.0005"))
EXPIRY = (dt.datetime.now(dt.UTC) + dt.timedelta(days=6)).date().isoformat()
ORDER = {"client_order_id": "crash-1", "product": "NIFTY", "expiry": EXPIRY, "strike": 24_000,
         "option_type": "CALL", "side": "BUY", "quantity": 75}  # fmt: skip


def _serve(path: str, port: int, env: dict[str, str], step: str | None, reached: Any) -> None:
    """paper_service on ``port`` with the store at ``path``; at ``step`` of a write, tell the
    parent and wait to be killed."""
    os.environ.update(env)
    from werkzeug.serving import make_server

    from common.settings import load_settings
    from paper_service import create_app

    store = SqlitePaperStore(path, RULES)

    def checkpoint(at: str) -> None:
        if at == step:
            reached.set()
            time.sleep(120)  # the parent's SIGKILL ends this

    store.checkpoint = checkpoint
    app = create_app(load_settings(), paper=store)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def _post(port: int, body: dict[str, Any], out: list[Any]) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/paper/orders", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "X-User-Id": "alice"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            out.append((resp.status, json.loads(resp.read())))
    except urllib.error.HTTPError as err:
        out.append((err.code, json.loads(err.read())))
    except OSError as exc:  # the process died under the request
        out.append((None, repr(exc)))


class Service:
    """One paper_service process on a free port."""

    def __init__(self, path: Path, env: dict[str, str], step: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.reached = context.Event()
        self.port = free_port()
        self.process = context.Process(
            target=_serve, args=(str(path), self.port, env, step, self.reached)
        )
        self.process.start()
        for _ in range(300):  # up to 30 s for the spawn and the imports
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("paper_service never answered /healthz")

    def kill(self) -> None:
        os.kill(self.process.pid or 0, signal.SIGKILL)
        self.process.join(30)
        assert self.process.exitcode == -signal.SIGKILL


@pytest.fixture
def env(redis_server: EmbeddedRedis, tmp_path: Path) -> dict[str, str]:
    url = redis_db_url(redis_server.url, CRASH_DB)
    client = make_redis(url)
    origin = format_ts(dt.datetime.now(dt.UTC))
    chain = enrich_chain(build_chain(expiry=EXPIRY, timestamp=origin), processed_at=origin)
    row = next(r for r in chain["calls"] if r["strike"] == 24_000.0)
    row["bid"], row["ask"] = 119.5, 120.5
    put_chain(client, "NIFTY", EXPIRY, orjson.dumps(chain))
    client.close()
    return {"REDIS_URL": url, "STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "DATA_STALE_AFTER_S": "3600", "VAR_DIR": str(tmp_path)}  # fmt: skip


@pytest.mark.parametrize("step", ["after_order", "after_trades", "before_commit", "after_commit"])
def test_a_service_killed_while_placing_leaves_the_order_whole_or_absent(
    tmp_path: Path, env: dict[str, str], step: str
) -> None:
    path = tmp_path / "paper.db"
    SqlitePaperStore(path, RULES).close()
    service = Service(path, env, step)
    answer: list[Any] = []
    sender = threading.Thread(target=_post, args=(service.port, ORDER, answer))
    sender.start()
    assert service.reached.wait(60), "the service never reached the step"
    service.kill()
    sender.join(30)
    assert answer[0][0] is None  # the client lost the answer

    whole = step == "after_commit"
    store = SqlitePaperStore(path, RULES)
    assert (len(store.orders("alice")), len(store.trades("alice"))) == ((1, 1) if whole else (0, 0))
    cash = store.wallet("alice", "INR").cash
    assert cash == (Decimal("990957.98") if whole else Decimal("1000000.00"))

    again = Service(path, env, None)  # the client re-sends the same client_order_id
    try:
        answer.clear()
        _post(again.port, ORDER, answer)
    finally:
        again.kill()
    status, order = answer[0]
    assert status == (200 if whole else 201), order
    assert (order["state"], len(order["fills"])) == ("FILLED", 1)
    assert len(store.orders("alice")) == len(store.trades("alice")) == 1
    assert store.wallet("alice", "INR").cash == Decimal("990957.98")  # moved once
    store.close()
