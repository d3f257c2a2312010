"""The stack the dashboard's Chromium tests run against, with a NIFTY chain to show.

Redis, the services a test names behind the api_gateway serving the built dashboard, and the
socket gateway (gunicorn and eventlet processes on 127.0.0.1); a NIFTY chain of 11 strikes
around 24,010, expiring in a week, stored (the listing comes from the store) and cached with
a tick, all stamped now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from common.embedded_redis import EmbeddedRedis
from common.redis_client import make_redis
from common.timestamps import format_ts, now_ts
from optionsmath import enrich_chain
from store import open_store
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.chains import build_chain
from tests.support.latest import put_chain, put_underlying
from tests.support.processes import free_port

DIST = Path(__file__).resolve().parents[2] / "dashboard" / "dist" / "index.html"
SPOT = 24_010.0
EXPIRY = (dt.date.today() + dt.timedelta(days=7)).isoformat()
TOP_STRIKE = 24_250.0
"""The chain's highest strike (its call is left unquoted on request)."""


@contextlib.contextmanager
def dashboard_stack(
    workdir: Path,
    services: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    unquoted_top_call: bool = False,
) -> Iterator[Stack]:
    """The stack with ``services`` and the NIFTY chain (its top call without bid, ask or last
    with ``unquoted_top_call``: a leg without a live price); stopped on exit."""
    assert DIST.is_file(), "the dashboard is not built: cd dashboard && npm ci && npm run build"
    socket_port = free_port()
    settings = {"SOCKET_GATEWAY_PORT": str(socket_port), **(env or {})}
    with EmbeddedRedis() as server:
        started = start_stack(workdir, server.url, settings, services)
        try:
            started.procs.socket_gateway(socket_port, env={"SOCKET_CORS_ORIGINS": started.url})
            store_nifty(started, unquoted_top_call=unquoted_top_call)
            yield started
        finally:
            started.procs.close()


def store_nifty(stack: Stack, *, unquoted_top_call: bool = False) -> dict[str, Any]:
    """Store and cache the NIFTY chain and a tick, stamped now; the enriched chain."""
    raw = build_chain(n=11, spot=SPOT, product="NIFTY", expiry=EXPIRY, timestamp=now_ts())
    assert raw["strikes"][-1] == TOP_STRIKE
    if unquoted_top_call:
        raw["calls"][-1].update(bid=0.0, ask=0.0, last=0.0)
    chain: dict[str, Any] = enrich_chain(raw, processed_at=format_ts(dt.datetime.now(dt.UTC)))
    assert chain["atm_iv"] is not None
    store = open_store(stack.store_url)
    try:
        store.insert_chains([chain])
    finally:
        store.close()
    client = make_redis(stack.redis_url)
    try:
        put_chain(client, "NIFTY", EXPIRY, orjson.dumps(chain))
        tick = {"type": "underlying", "product": "NIFTY", "price": SPOT, "volume": 0,
                "timestamp": now_ts(), "seq": 1, "processed_at": now_ts()}  # fmt: skip
        put_underlying(client, "NIFTY", orjson.dumps(tick))
    finally:
        client.close()
    return chain
