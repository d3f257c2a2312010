"""Put ``latest:*`` entries in Redis the way the workers do (their LATEST script, so the
index of live entries is kept too), for tests of the readers."""

from __future__ import annotations

import itertools

import redis

from common.latest import Entry
from common.timestamps import now_ts
from worker_enricher.cache import put_latest as _put

_SEQ = itertools.count(1)
"""Ever-increasing seqs, so a later put always replaces an earlier one."""


def put_latest(client: redis.Redis, entry: Entry, payload: bytes, *, ttl_s: int = 3600) -> None:
    """Keep ``payload`` as ``entry`` for ``ttl_s`` seconds, as the newest (timestamp, seq)."""
    assert _put(client, entry, payload, timestamp=now_ts(), seq=next(_SEQ), ttl_s=ttl_s)


def put_chain(
    client: redis.Redis, product: str, expiry: str, payload: bytes, *, ttl_s: int = 3600
) -> None:
    put_latest(client, Entry(product, expiry), payload, ttl_s=ttl_s)


def put_underlying(client: redis.Redis, product: str, payload: bytes, *, ttl_s: int = 3600) -> None:
    put_latest(client, Entry(product), payload, ttl_s=ttl_s)
