"""The one reader of ``latest:*``: the newest enriched payloads the workers keep in Redis,
and the index of what is live there (docs/ARCHITECTURE.md, "Redis keys").

The workers write (``worker_enricher/cache.py``, the ``LATEST`` script of
``worker_enricher/scripts.py``); api_gateway, storage_service, analytics_service,
paper_service, socket_gateway and the workers' alert evaluation read through this module
only, so the key layout lives in two places: the writer and here.

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

What is read is judged by its age (:class:`DataAge`): the seconds from the origin
``timestamp`` it carries to the reader's clock, against the product's
``stale_after_s`` (common/products.py). Data older than that is served marked
(:func:`mark_data_age`, :func:`data_age_headers`), whatever made it old: a stopped
feed, a dead worker, a Redis restart. This is not the read-API cache's ``stale``
(a cached copy served while the store fails): a fresh cached copy of old data is
old data, and a stale cached copy of new data is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

import orjson
import redis

from common.names import (
    LATEST_PRODUCTS_KEY,
    latest_chain_key,
    latest_expiries_key,
    latest_underlying_key,
)

__all__ = [
    "DATA_AGE_HEADER",
    "DATA_AGE_LIMIT_HEADER",
    "DATA_AGE_STALE_HEADER",
    "DataAge",
    "Entry",
    "LatestReader",
    "Pending",
    "data_age",
    "data_age_headers",
    "mark_data_age",
    "mark_data_age_fields",
    "origin_timestamp",
    "queue_exists",
    "queue_expiries",
    "queue_get",
    "queue_get_many",
    "queue_products",
    "stamp_age",
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


# -- the age of what was read ------------------------------------------------------------------

DATA_AGE_HEADER = "X-Data-Age"
"""Seconds from the data's origin ``timestamp`` to the answer (three decimals)."""
DATA_AGE_LIMIT_HEADER = "X-Data-Age-Limit"
"""The product's ``stale_after_s``: the age past which its data is marked stale."""
DATA_AGE_STALE_HEADER = "X-Data-Age-Stale"
"""``true`` on an answer whose data is older than the limit (absent otherwise). Not the
cache's ``X-Data-Stale`` (a cached copy served while the store fails)."""
_TIMESTAMP = b'"timestamp":"'
_TS_LEN = len("2026-01-31T09:15:00.000Z")


class DataAge(NamedTuple):
    """How old one answer's data is: ``age_s`` seconds from its origin ``timestamp`` (0 when
    the origin's clock is ahead of ours), against the product's ``limit_s``."""

    age_s: float
    limit_s: float

    @property
    def stale(self) -> bool:
        """Older than the limit."""
        return self.age_s > self.limit_s


def _epoch_s(text: str) -> float | None:
    try:
        moment = dt.datetime.fromisoformat(text[:-1] if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def origin_timestamp(body: bytes) -> float | None:
    """The top-level ``timestamp`` of a message's JSON ``body``, in epoch seconds; None when
    it has none.

    The messages are encoded in their structs' field order, where ``timestamp`` comes
    before any nested object, so its first occurrence is found without decoding a chain
    of hundreds of rows; a body where it is not in the wire format is decoded whole."""
    at = body.find(_TIMESTAMP)
    if at >= 0:
        start = at + len(_TIMESTAMP)
        text = body[start : start + _TS_LEN]
        if len(text) == _TS_LEN and body[start + _TS_LEN : start + _TS_LEN + 1] == b'"':
            found = _epoch_s(text.decode("ascii", "replace"))
            if found is not None:
                return found
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    stamp = decoded.get("timestamp") if isinstance(decoded, dict) else None
    return _epoch_s(stamp) if isinstance(stamp, str) else None


def data_age(body: bytes, now_s: float, limit_s: float) -> DataAge | None:
    """The age of ``body``'s data at ``now_s`` (epoch seconds) against ``limit_s``; None when
    the body carries no origin timestamp."""
    origin = origin_timestamp(body)
    if origin is None:
        return None
    return DataAge(round(max(0.0, now_s - origin), 3), limit_s)


def stamp_age(timestamp: object, now_s: float, limit_s: float) -> DataAge | None:
    """The age at ``now_s`` of data whose origin ``timestamp`` is that wire string (a decoded
    message's); None when it is not one."""
    origin = _epoch_s(timestamp) if isinstance(timestamp, str) else None
    if origin is None:
        return None
    return DataAge(round(max(0.0, now_s - origin), 3), limit_s)


def mark_data_age_fields(payload: dict[str, Any], age: DataAge | None) -> dict[str, Any]:
    """A decoded message with ``data_age_stale``/``data_age_s`` set when ``age`` is stale
    (:func:`mark_data_age`'s members, for a payload that is already a dict)."""
    if age is not None and age.stale:
        return {"data_age_stale": True, "data_age_s": age.age_s, **payload}
    return payload


def data_age_headers(age: DataAge | None) -> dict[str, str]:
    """``X-Data-Age`` and ``X-Data-Age-Limit``, and ``X-Data-Age-Stale: true`` when stale."""
    if age is None:
        return {}
    headers = {DATA_AGE_HEADER: f"{age.age_s:.3f}", DATA_AGE_LIMIT_HEADER: f"{age.limit_s:g}"}
    if age.stale:
        headers[DATA_AGE_STALE_HEADER] = "true"
    return headers


_CACHE_STALE = b'{"stale":true'


def mark_data_age(body: bytes, age: DataAge | None) -> bytes:
    """``body`` (a JSON object) with ``"data_age_stale": true, "data_age_s": …`` added when
    its data is stale, without re-encoding it; unchanged otherwise.

    The members go first, after the cache's ``"stale": true`` when that leads."""
    if age is None or not age.stale:
        return body
    if not body.startswith(b"{"):
        raise ValueError("only a JSON object can be marked")
    head = _CACHE_STALE if body.startswith(_CACHE_STALE) else b"{"
    rest = body[len(head) :].lstrip()
    if head != b"{":
        rest = rest[1:].lstrip() if rest.startswith(b",") else rest
    mark = b'"data_age_stale":true,"data_age_s":' + repr(age.age_s).encode()
    if head != b"{":
        mark = b"," + mark
    return head + mark + (rest if rest.startswith(b"}") else b"," + rest)
