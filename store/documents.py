"""Validation and conversion of what the adapters store, shared so both behave alike.

Time is handled as integer epoch milliseconds: the wire format has
millisecond resolution, so a range bound is rounded up to the next whole
millisecond (``ts >= start`` and ``ts < end`` keep their exact meaning) and an
upper bound ``ts <= at`` down to the previous one.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.timestamps import format_ts, parse_expiry, parse_ts
from store.port import CHAIN_KEY_FIELDS, MAX_HISTORY_LIMIT, CandleInterval

RESERVED_KEYS = frozenset({"_id", "_ts"})
"""Keys the adapters use themselves (MongoDB's id and its BSON time field)."""

CANDLE_VALUE_FIELDS = ("open", "high", "low", "close", "volume")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ChainKey:
    """The identity and time of one chain snapshot."""

    product: str
    expiry: str
    seq: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Validated arguments of ``chain_history``; ``after`` is (ts_ms, seq)."""

    start_ms: int
    end_ms: int
    keep: frozenset[str] | None
    limit: int
    after: tuple[int, int] | None


def ceil_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of ``moment`` (naive means UTC), rounded up."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    micros = (moment - _EPOCH) // _ONE_US
    return -(-micros // 1000)


def floor_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of ``moment`` (naive means UTC), rounded down: ``ts <= moment``
    holds for a millisecond timestamp exactly when ``ts_ms <= floor_ms(moment)``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // _ONE_US // 1000


def ts_ms(text: str) -> int:
    """Epoch milliseconds of a wire timestamp; ``ValueError`` unless it is one."""
    return ceil_ms(parse_ts(text))


def ms_to_datetime(ms: int) -> dt.datetime:
    """Naive UTC datetime of epoch milliseconds (what BSON stores)."""
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _number(value: Any, what: str) -> float | int:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return value


def check_product_expiry(product: str, expiry: str) -> None:
    """``ValueError`` unless product is a non-empty string and expiry YYYY-MM-DD."""
    _text(product, "product")
    parse_expiry(expiry)


def chain_key(doc: Mapping[str, Any], index: int) -> ChainKey:
    """The key of ``doc`` (the ``index``-th of a batch); ``ValueError`` if unusable."""
    where = f"chain #{index}"
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(doc).__name__}")
    reserved = RESERVED_KEYS.intersection(doc)
    if reserved:
        raise ValueError(f"{where}: reserved keys {sorted(reserved)}")
    try:
        product = _text(doc.get("product"), "product")
        expiry = _text(doc.get("expiry"), "expiry")
        parse_expiry(expiry)
        seq = _int(doc.get("seq"), "seq")
        return ChainKey(product, expiry, seq, ts_ms(_text(doc.get("timestamp"), "timestamp")))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def keep_fields(fields: Sequence[str] | None) -> frozenset[str] | None:
    """The top-level keys a projection keeps (the chain key always), ``None`` for all;
    ``ValueError`` names a bad field."""
    if fields is None:
        return None
    if isinstance(fields, str):
        raise ValueError("fields must be a sequence of names, not one string")
    for name in fields:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"fields: empty or non-string name {name!r}")
        if name in RESERVED_KEYS or "." in name or name.startswith("$"):
            raise ValueError(f"fields: {name!r} is not a top-level document key")
    return frozenset(fields).union(CHAIN_KEY_FIELDS)


def history_query(
    start: dt.datetime,
    end: dt.datetime,
    fields: Sequence[str] | None,
    limit: int,
    after: tuple[str, int] | None,
) -> HistoryQuery:
    """Validate ``chain_history`` arguments; ``ValueError`` names the bad one."""
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        raise ValueError("start and end must be datetimes")
    if _int(limit, "limit") < 1 or limit > MAX_HISTORY_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_HISTORY_LIMIT}, got {limit}")
    keep = keep_fields(fields)
    cursor = None
    if after is not None:
        if not isinstance(after, tuple | list) or len(after) != 2:
            raise ValueError("after must be (timestamp, seq) of the last row seen")
        cursor = (ts_ms(after[0]), _int(after[1], "after seq"))
    return HistoryQuery(ceil_ms(start), ceil_ms(end), keep, limit, cursor)


def at_query(at: dt.datetime, fields: Sequence[str] | None) -> tuple[int, frozenset[str] | None]:
    """Validate ``chain_at`` arguments: the bound in epoch ms (``ts <= at``) and the kept keys."""
    if not isinstance(at, dt.datetime):
        raise ValueError(f"at must be a datetime, got {type(at).__name__}")
    return floor_ms(at), keep_fields(fields)


def project(doc: dict[str, Any], keep: frozenset[str] | None) -> dict[str, Any]:
    """``doc`` restricted to the keys in ``keep`` (all of it when ``None``)."""
    if keep is None:
        return doc
    return {k: v for k, v in doc.items() if k in keep}


def candle_record(candle: Mapping[str, Any], index: int) -> tuple[dict[str, Any], int]:
    """The stored form of a candle and its start in epoch ms; ``ValueError`` if unusable."""
    try:
        record: dict[str, Any] = {
            "product": _text(candle.get("product"), "product"),
            "interval": candle_interval(candle.get("interval")),
            "start": candle.get("start"),
        }
        start_ms = ts_ms(record["start"])
        for name in CANDLE_VALUE_FIELDS:
            record[name] = _number(candle.get(name), name)
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"candle #{index}: {exc}") from exc
    return record, start_ms


def candle_interval(interval: Any) -> str:
    """The interval as stored; ``ValueError`` unless 1min, 5min or 15min."""
    if not isinstance(interval, str):
        raise ValueError(f"interval must be one of 1min, 5min, 15min, got {interval!r}")
    return str(CandleInterval(interval))


def username_key(username: str) -> str:
    """The case-insensitive identity of a username (NFKC, then casefold)."""
    return unicodedata.normalize("NFKC", _text(username, "username")).casefold()


def new_user(user_id: str, username: str, password_hash: str, role: str) -> dict[str, Any]:
    """The user dict of the port (``created_at`` now) after validating its fields."""
    username_key(username)
    return {
        "id": user_id,
        "username": username,
        "password_hash": _text(password_hash, "password_hash"),
        "role": _text(role, "role"),
        "created_at": format_ts(dt.datetime.now(dt.UTC)),
    }


def password_hash_update(user_id: str, password_hash: str) -> tuple[str, str]:
    """The arguments of ``update_password_hash`` after validating them (non-empty strings)."""
    return _text(user_id, "user_id"), _text(password_hash, "password_hash")
