"""Checks of what the alert adapters store and of their arguments, shared so both adapters
accept and refuse alike (``ValueError`` naming the field, before anything is written).

A stored document is JSON data and comes back equal to what was given: objects with
string keys, lists, strings, booleans, ``None``, finite floats and 64-bit integers (what
both SQLite's JSON text and BSON keep exactly); anything else is refused rather than
silently changed (a tuple read back as a list, NaN as ``null``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from common.timestamps import parse_ts
from store.alerts.port import ALERT_KEY_FIELDS, MAX_TRIGGER_PAGE, TRIGGER_KEY_FIELDS
from store.sessions import text

TIMED_ALERT_OPS = (
    "create_alert", "alerts_of", "alert", "replace_alert", "delete_alert", "active_alerts",
    "record_triggers", "triggers_of", "ping",
)  # fmt: skip
"""Every operation of the alert port but ``close`` (``store.timing``)."""

IMMUTABLE_FIELDS = ("owner", "product", "created_at")
"""Fields ``replace_alert`` keeps as stored."""

_INT64 = 2**63
_TIMESTAMPS = frozenset({"created_at", "updated_at", "triggered_at"})


def json_data(value: Any, path: str) -> Any:
    """A plain copy of ``value`` if it is JSON data both adapters keep exactly (str, int
    and float subclasses, such as enums, become the base type); ``ValueError`` naming
    ``path`` otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError(f"{path}: integer outside the signed 64-bit range")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} is not a finite number")
        return float(value)
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is not a string")
            copy[str.__str__(key)] = json_data(item, f"{path}.{key}")
        return copy
    if isinstance(value, list):
        return [json_data(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ValueError(f"{path}: a {type(value).__name__} is not JSON data")


def _document(value: Any, what: str, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    doc: dict[str, Any] = json_data(value, what)
    if "_id" in doc:
        raise ValueError(f"{what}._id: a key the store keeps for itself")
    for key in keys:
        text(doc.get(key), f"{what}.{key}")
        if key in _TIMESTAMPS:
            try:
                parse_ts(doc[key])
            except ValueError as exc:
                raise ValueError(f"{what}.{key}: {exc}") from exc
    return doc


def alert_document(alert: Any) -> dict[str, Any]:
    """A copy of ``alert`` once checked: :data:`ALERT_KEY_FIELDS` non-empty strings (the
    times wire timestamps) and ``active`` a boolean (``active_alerts`` reads it)."""
    doc = _document(alert, "alert", ALERT_KEY_FIELDS)
    if type(doc.get("active")) is not bool:
        raise ValueError(f"alert.active must be true or false, got {doc.get('active')!r}")
    return doc


def trigger_documents(triggers: Any) -> list[dict[str, Any]]:
    """Copies of ``triggers`` once checked (:data:`TRIGGER_KEY_FIELDS` non-empty strings,
    ``triggered_at`` a wire timestamp), a ``trigger_id`` repeated in them kept once (the
    first)."""
    if isinstance(triggers, str | bytes | Mapping) or not isinstance(triggers, Sequence):
        raise ValueError("triggers must be a list of trigger documents")
    kept: dict[str, dict[str, Any]] = {}
    for index, trigger in enumerate(triggers):
        doc = _document(trigger, f"trigger #{index}", TRIGGER_KEY_FIELDS)
        kept.setdefault(doc["trigger_id"], doc)
    return list(kept.values())


def replacement(owner: Any, alert: Any) -> dict[str, Any]:
    """The checked copy of ``alert`` replacing one of ``owner``'s (whose owner it must be)."""
    owner = text(owner, "owner")
    doc = alert_document(alert)
    if doc["owner"] != owner:
        raise ValueError(f"alert.owner cannot change (stored: {owner!r})")
    return doc


def check_unchanged(stored: Mapping[str, Any], alert: Mapping[str, Any]) -> None:
    """``ValueError`` naming the first of :data:`IMMUTABLE_FIELDS` that ``alert`` changes."""
    for name in IMMUTABLE_FIELDS:
        if name in stored and stored[name] != alert[name]:
            raise ValueError(f"alert.{name} cannot change (stored: {stored[name]!r})")


def alert_limit(limit: Any) -> int:
    """``limit`` if it is a whole number of alerts (0 or more)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number of alerts (0 or more), got {limit!r}")
    return limit


def trigger_page(limit: Any, before: Any) -> tuple[int, tuple[str, str] | None]:
    """``(limit, before)`` of ``triggers_of`` once checked: ``limit`` in
    1..:data:`MAX_TRIGGER_PAGE`, ``before`` ``None`` or ``(triggered_at, trigger_id)``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TRIGGER_PAGE:
        raise ValueError(f"limit must be an integer in 1..{MAX_TRIGGER_PAGE}, got {limit!r}")
    if before is None:
        return limit, None
    if not isinstance(before, tuple) or len(before) != 2:
        raise ValueError("before must be (triggered_at, trigger_id) of a page's last trigger")
    return limit, (text(before[0], "before[0]"), text(before[1], "before[1]"))
