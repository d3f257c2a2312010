"""The one reader of ``latest:*``: the newest enriched payloads the workers keep in Redis,
and the index of what is live there (docs/ARCHITECTURE.md, "Redis keys").

The workers write (``worker_enricher/cache.py``, the ``LATEST`` script of
``worker_enricher/scripts.py``); api_gateway, storage_service, analytics_service
and socket_gateway read through this module only, so the key layout lives in
two places: the writer and here.

Liveness comes from the writer's index, never from scanning the keyspace: every
write sets its entry to expire at an instant ``D`` (Redis's clock, ms since 1970,
``PXAT``) and scores the entry's expiry in ``latest:expiries:{product}`` and its
product in ``latest:products`` with that same ``D``. A reader compares the scores
with Redis's ``TIME`` read in the same round trip, so an entry whose key has
expired is never listed as live, whatever the readers' clocks say.

Each read has a ``queue_*`` form that adds its commands to a caller's pipeline
and gives back a :class:`Pending` that picks its replies out of the pipeline's
answer, so a caller can read latest data in a round trip it makes anyway (the
gateway's token deny-list check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

import redis

from common.names import (
    LATEST_PRODUCTS_KEY,
    latest_chain_key,
    latest_expiries_key,
    latest_underlying_key,
)

__all__ = [
    "Entry",
    "LatestReader",
    "Pending",
    "queue_exists",
    "queue_expiries",
    "queue_get",
    "queue_get_many",
    "queue_products",
]

T = TypeVar("T")
Pipe = Any
"""A redis-py pipeline (``redis.client.Pipeline``; untyped in redis-py's stubs)."""


class Entry(NamedTuple):
    """One ``latest:*`` entry: the chain of (product, expiry), or with ``expiry`` None the
    underlying tick of ``product``. (A named tuple: the gateway makes one per request.)"""

    product: str
    expiry: str | None = None

    @property
    def key(self) -> str:
        """The Redis key holding the entry's bytes."""
        if self.expiry is None:
            return latest_underlying_key(self.product)
        return latest_chain_key(self.product, self.expiry)


def chain(product: str, expiry: str) -> Entry:
    """The chain entry of (``product``, ``expiry``)."""
    return Entry(product, expiry)


def underlying(product: str) -> Entry:
    """The underlying entry of ``product``."""
    return Entry(product)


class Pending(Generic[T]):
    """Replies ``start`` to ``start + count`` of a pipeline, parsed once it has run."""

    __slots__ = ("count", "parse", "start")

    def __init__(self, start: int, count: int, parse: Callable[[list[Any]], T]) -> None:
        self.start = start
        self.count = count
        self.parse = parse

    def result(self, replies: Sequence[object]) -> T:
        """The parsed value; the first error among its replies is raised (a pipeline run
        with ``raise_on_error=False`` leaves errors in the replies)."""
        start, count = self.start, self.count
        mine = list(replies[start : start + count])
        if len(mine) != count:
            raise ValueError(f"expected {count} replies from {start}, got {len(mine)}")
        errors = [reply for reply in mine if isinstance(reply, Exception)]
        if errors:
            raise errors[0]
        return self.parse(mine)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _first(replies: list[Any]) -> Any:
    return replies[0]


_bytes_or_none = cast(Callable[[list[Any]], bytes | None], _first)
_bytes_list = cast(Callable[[list[Any]], list[bytes | None]], _first)


def _live(replies: list[Any]) -> list[str]:
    """Members of a ``[TIME, ZRANGE … WITHSCORES]`` reply whose score is after TIME, sorted."""
    (seconds, micros), scored = replies
    now_ms = seconds * 1000 + micros // 1000
    # The entry's key expires once Redis's clock passes the score: strictly after is live.
    return sorted(_text(member) for member, score in scored if score > now_ms)


def queue_get(pipe: Pipe, entry: Entry) -> Pending[bytes | None]:
    """Queue on ``pipe``: the bytes of ``entry`` (None when it is not there)."""
    start = len(pipe)
    pipe.get(entry.key)
    return Pending(start, 1, _bytes_or_none)


def queue_get_many(pipe: Pipe, entries: Sequence[Entry]) -> Pending[list[bytes | None]]:
    """Queue on ``pipe``: the bytes of each of ``entries`` in order, in one MGET."""
    start = len(pipe)
    pipe.mget([e.key for e in entries])
    return Pending(start, 1, _bytes_list)


def queue_exists(pipe: Pipe, entries: Iterable[Entry]) -> Pending[int]:
    """Queue on ``pipe``: how many of ``entries`` are there (without reading their bytes)."""
    start = len(pipe)
    pipe.exists(*(e.key for e in entries))
    return Pending(start, 1, lambda replies: int(replies[0]))


def _queue_live(pipe: Pipe, index_key: str) -> Pending[list[str]]:
    start = len(pipe)
    pipe.time()
    pipe.zrange(index_key, 0, -1, withscores=True)
    return Pending(start, 2, _live)


def queue_expiries(pipe: Pipe, product: str) -> Pending[list[str]]:
    """Queue on ``pipe``: the expiries of ``product`` with a live chain entry, ascending."""
    return _queue_live(pipe, latest_expiries_key(product))


def queue_products(pipe: Pipe) -> Pending[list[str]]:
    """Queue on ``pipe``: the products with a live entry (a chain or the underlying), sorted."""
    return _queue_live(pipe, LATEST_PRODUCTS_KEY)


class LatestReader:
    """Reads of ``latest:*`` through ``client`` (bytes replies), one round trip each
    unless said otherwise; ``redis.RedisError`` goes to the caller."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def _run(self, queue: Callable[[Pipe], Pending[T]]) -> T:
        pipe = self.client.pipeline(transaction=False)
        pending = queue(pipe)
        return pending.result(pipe.execute())

    def chain(self, product: str, expiry: str) -> bytes | None:
        """The newest enriched chain of (``product``, ``expiry``): the exact API bytes."""
        return cast(bytes | None, self.client.get(latest_chain_key(product, expiry)))

    def underlying(self, product: str) -> bytes | None:
        """The newest enriched underlying tick of ``product``."""
        return cast(bytes | None, self.client.get(latest_underlying_key(product)))

    def get_many(self, entries: Sequence[Entry]) -> list[bytes | None]:
        """The bytes of each of ``entries``, in order."""
        if not entries:
            return []
        return cast(list[bytes | None], self.client.mget([e.key for e in entries]))

    def exists(self, entry: Entry) -> bool:
        """Whether ``entry`` is there (its bytes are not read)."""
        return bool(self.client.exists(entry.key))

    def expiries(self, product: str) -> list[str]:
        """The expiries of ``product`` with a live chain entry, ascending."""
        return self._run(lambda pipe: queue_expiries(pipe, product))

    def products(self) -> list[str]:
        """The products with a live entry (a chain or the underlying), sorted."""
        return self._run(queue_products)

    def listing(self) -> dict[str, list[str]]:
        """Live product → its live expiries (empty: only the underlying is live); two round
        trips: the products, then every product's expiries at once."""
        products = self.products()
        if not products:
            return {}
        pipe = self.client.pipeline(transaction=False)
        pending = [queue_expiries(pipe, p) for p in products]
        replies = pipe.execute()
        return {p: each.result(replies) for p, each in zip(products, pending, strict=True)}
