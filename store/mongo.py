"""MongoDB adapter: the production store, through pymongo.

Documents keep ``timestamp`` (and a candle's ``start``) as the wire string;
a BSON date copy in ``_ts`` serves range queries and sorting and is never
returned. Indexes are created at start-up (a no-op when they exist).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from store.documents import (
    at_query,
    candle_interval,
    candle_record,
    ceil_ms,
    chain_key,
    check_product_expiry,
    history_query,
    ms_to_datetime,
    new_user,
    password_hash_update,
    username_key,
)
from store.mongodb import (
    DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    DEFAULT_SOCKET_TIMEOUT_MS,
    Doc,
    MongoDatabase,
    inserted_despite_duplicates,
    translated,
)
from store.port import DuplicateUser, StoreError
from store.sessions import SESSION_FIELDS, Rotation, decide, instant, text
from store.timing import timed_store

_HIDDEN = {"_id": False, "_ts": False}
_BY_TIME = [("_ts", ASCENDING), ("seq", ASCENDING)]
_NEWEST_FIRST = [("_ts", DESCENDING), ("seq", DESCENDING)]

__all__ = ["DEFAULT_SOCKET_TIMEOUT_MS", "MongoStore"]


@timed_store("mongodb")
class MongoStore(MongoDatabase):
    """The :class:`~store.port.Store` on a MongoDB database (``store.mongodb``: the client,
    its timeouts and the database's name)."""

    def __init__(
        self,
        url: str,
        database: str | None = None,
        *,
        server_selection_timeout_ms: int = DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
        socket_timeout_ms: int = DEFAULT_SOCKET_TIMEOUT_MS,
    ) -> None:
        super().__init__(
            url,
            database,
            server_selection_timeout_ms=server_selection_timeout_ms,
            socket_timeout_ms=socket_timeout_ms,
            client_class=MongoClient,
        )

    def _bind(self, db: Database[Doc]) -> None:
        self._chains: Collection[Doc] = db["chains"]
        self._candles: Collection[Doc] = db["candles"]
        self._users: Collection[Doc] = db["users"]
        self._sessions: Collection[Doc] = db["sessions"]
        self._revoked_access: Collection[Doc] = db["revoked_access"]

    def _create_indexes(self) -> None:
        key = [("product", ASCENDING), ("expiry", ASCENDING)]
        with translated():
            self._chains.create_index([*key, ("seq", ASCENDING)], unique=True, name="chains_seq")
            self._chains.create_index([*key, *_BY_TIME], name="chains_range")
            self._candles.create_index(
                [("product", ASCENDING), ("interval", ASCENDING), ("_ts", ASCENDING)],
                unique=True,
                name="candles_key",
            )
            self._users.create_index("username_key", unique=True, name="users_key")
            # Queried by prune_sessions and revoked_access; records are dropped by prune, not
            # by a TTL index, so both adapters forget at the same moment.
            self._sessions.create_index("expires_at", name="sessions_expiry")
            self._revoked_access.create_index("expires_at", name="revoked_access_expiry")

    # -- chains ----------------------------------------------------------------------

    def insert_chains(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """Insert snapshots in one unordered bulk write; return how many were new."""
        batch = []
        for index, doc in enumerate(docs):
            key = chain_key(doc, index)
            batch.append({**doc, "_ts": ms_to_datetime(key.ts_ms)})
        if not batch:
            return 0
        try:
            with translated():
                return len(self._chains.insert_many(batch, ordered=False).inserted_ids)
        except InvalidDocument as exc:
            raise ValueError(f"chain not storable in MongoDB: {exc}") from exc
        except StoreError as exc:
            if isinstance(exc.__cause__, BulkWriteError):
                return inserted_despite_duplicates(exc.__cause__)
            raise

    def latest_chain(self, product: str, expiry: str) -> dict[str, Any] | None:
        """The newest snapshot by (timestamp, seq), or ``None``."""
        check_product_expiry(product, expiry)
        with translated():
            return self._chains.find_one(
                {"product": product, "expiry": expiry}, _HIDDEN, sort=_NEWEST_FIRST
            )

    def chain_history(
        self,
        product: str,
        expiry: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 500,
        after: tuple[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Snapshots with ``start <= timestamp < end`` ascending by (timestamp, seq)."""
        check_product_expiry(product, expiry)
        query = history_query(start, end, fields, limit, after)
        when = {"$gte": ms_to_datetime(query.start_ms), "$lt": ms_to_datetime(query.end_ms)}
        spec: Doc = {"product": product, "expiry": expiry, "_ts": when}
        if query.after is not None:
            last = ms_to_datetime(query.after[0])
            spec["$or"] = [{"_ts": {"$gt": last}}, {"_ts": last, "seq": {"$gt": query.after[1]}}]
        projection = _projection(query.keep)
        with translated():
            return list(self._chains.find(spec, projection, sort=_BY_TIME, limit=query.limit))

    def chain_at(
        self,
        product: str,
        expiry: str,
        at: dt.datetime,
        *,
        fields: Sequence[str] | None = None,
    ) -> dict[str, Any] | None:
        """The newest snapshot with ``timestamp <= at``, or ``None`` (the range index, reversed)."""
        check_product_expiry(product, expiry)
        at_ms, keep = at_query(at, fields)
        spec: Doc = {"product": product, "expiry": expiry, "_ts": {"$lte": ms_to_datetime(at_ms)}}
        with translated():
            return self._chains.find_one(spec, _projection(keep), sort=_NEWEST_FIRST)

    def chain_seqs(self, product: str, expiry: str) -> list[int]:
        """Every stored seq of (product, expiry), ascending."""
        check_product_expiry(product, expiry)
        spec = {"product": product, "expiry": expiry}
        with translated():
            rows = self._chains.find(spec, {"_id": False, "seq": True}, sort=[("seq", ASCENDING)])
            return [row["seq"] for row in rows]

    def products(self) -> dict[str, list[str]]:
        """Each product with a stored chain mapped to its sorted expiries.

        ``distinct`` on a prefix of the (product, expiry, …) indexes is a
        DISTINCT_SCAN: one index seek per value, not a pass over every snapshot.
        """
        with translated():
            products = sorted(self._chains.distinct("product"))
            return {
                product: sorted(self._chains.distinct("expiry", {"product": product}))
                for product in products
            }

    # -- candles ---------------------------------------------------------------------

    def upsert_candles(self, candles: Sequence[Mapping[str, Any]]) -> None:
        """Store closed candles, replacing those with the same (product, interval, start)."""
        requests = []
        for index, candle in enumerate(candles):
            record, start_ms = candle_record(candle, index)
            when = ms_to_datetime(start_ms)
            spec = {"product": record["product"], "interval": record["interval"], "_ts": when}
            requests.append(ReplaceOne(spec, {**record, "_ts": when}, upsert=True))
        if requests:
            with translated():
                self._candles.bulk_write(requests, ordered=False)

    def candles(
        self, product: str, interval: str, start: dt.datetime, end: dt.datetime
    ) -> list[dict[str, Any]]:
        """Candles with ``start <= candle start < end``, ascending."""
        when = {"$gte": ms_to_datetime(ceil_ms(start)), "$lt": ms_to_datetime(ceil_ms(end))}
        spec = {"product": product, "interval": candle_interval(interval), "_ts": when}
        with translated():
            return list(self._candles.find(spec, _HIDDEN, sort=[("_ts", ASCENDING)]))

    # -- users -----------------------------------------------------------------------

    def create_user(self, username: str, password_hash: str, role: str) -> dict[str, Any]:
        """Register a user; :class:`DuplicateUser` if the name is taken in any case."""
        user = new_user(uuid.uuid4().hex, username, password_hash, role)
        stored = {"_id": user["id"], "username_key": username_key(username), **user}
        try:
            with translated():
                self._users.insert_one(stored)
        except StoreError as exc:
            if isinstance(exc.__cause__, DuplicateKeyError):
                raise DuplicateUser(f"username {username!r} is taken") from exc.__cause__
            raise
        return user

    def find_user(self, username: str) -> dict[str, Any] | None:
        """The user whose name matches ``username`` case-insensitively, or ``None``."""
        with translated():
            return self._users.find_one(
                {"username_key": username_key(username)}, {"_id": False, "username_key": False}
            )

    def update_password_hash(self, user_id: str, password_hash: str) -> bool:
        """Replace the hash of the user with id ``user_id``; ``False`` if there is none."""
        user_id, password_hash = password_hash_update(user_id, password_hash)
        with translated():
            result = self._users.update_one(
                {"_id": user_id}, {"$set": {"password_hash": password_hash}}
            )
            # matched, not modified: re-storing the same hash still finds the user
            return result.matched_count == 1

    # -- sessions --------------------------------------------------------------------

    def start_session(self, family: str, user_id: str, jti: str, expires_at: int) -> None:
        """Record a new family whose current token is ``jti`` (a repeat is left as it is)."""
        doc = {
            "user_id": text(user_id, "user_id"),
            "current_jti": text(jti, "jti"),
            "rotations": 0,
            "revoked": None,
            "expires_at": instant(expires_at, "expires_at"),
        }
        with translated():
            self._sessions.update_one(
                {"_id": text(family, "family")}, {"$setOnInsert": doc}, upsert=True
            )

    def rotate_session(self, family: str, presented_jti: str, next_jti: str) -> Rotation:
        """Spend ``presented_jti`` for ``next_jti``: one conditional update decides."""
        text(family, "family")
        text(presented_jti, "presented_jti")
        text(next_jti, "next_jti")
        with translated():
            done = self._sessions.update_one(
                {"_id": family, "revoked": None, "current_jti": presented_jti},
                {"$set": {"current_jti": next_jti}, "$inc": {"rotations": 1}},
            )
            if done.modified_count == 1:
                return Rotation.ROTATED
            record = self._sessions.find_one({"_id": family})
            if record is None:
                return Rotation.UNKNOWN
            outcome = decide(record["current_jti"], record["revoked"], presented_jti)
            if outcome is Rotation.ROTATED:  # rotated by someone else in between: spent now
                outcome = Rotation.REUSED
            if outcome is Rotation.REUSED:
                self._sessions.update_one(
                    {"_id": family, "revoked": None}, {"$set": {"revoked": "reuse"}}
                )
            return outcome

    def revoke_session(self, family: str, reason: str, expires_at: int) -> None:
        """Revoke ``family`` (keeping a first reason); an unknown one is recorded revoked."""
        text(family, "family")
        text(reason, "reason")
        new = {"user_id": "", "current_jti": "", "rotations": 0, "revoked": reason,
               "expires_at": instant(expires_at, "expires_at")}  # fmt: skip
        with translated():
            self._sessions.update_one({"_id": family}, {"$setOnInsert": new}, upsert=True)
            self._sessions.update_one(
                {"_id": family, "revoked": None}, {"$set": {"revoked": reason}}
            )

    def session(self, family: str) -> dict[str, Any] | None:
        """The family's record, or ``None``."""
        with translated():
            record = self._sessions.find_one({"_id": text(family, "family")})
        if record is None:
            return None
        record["family"] = record.pop("_id")
        return {name: record[name] for name in SESSION_FIELDS}

    def revoke_access(self, jti: str, expires_at: int) -> None:
        """Deny access token ``jti`` until ``expires_at``."""
        with translated():
            self._revoked_access.update_one(
                {"_id": text(jti, "jti")},
                {"$max": {"expires_at": instant(expires_at, "expires_at")}},
                upsert=True,
            )

    def revoked_access(self, after: int) -> list[tuple[str, int]]:
        """Denied access tokens with ``expires_at > after``."""
        with translated():
            found = self._revoked_access.find({"expires_at": {"$gt": instant(after, "after")}})
            return [(doc["_id"], doc["expires_at"]) for doc in found]

    def prune_sessions(self, before: int) -> int:
        """Delete families and denied tokens with ``expires_at <= before``."""
        spec = {"expires_at": {"$lte": instant(before, "before")}}
        with translated():
            return (
                self._sessions.delete_many(spec).deleted_count
                + self._revoked_access.delete_many(spec).deleted_count
            )


def _projection(keep: frozenset[str] | None) -> Doc:
    """The find projection keeping ``keep`` (everything but the adapter's keys when ``None``)."""
    if keep is None:
        return dict(_HIDDEN)
    return {"_id": False, **dict.fromkeys(keep, True)}
