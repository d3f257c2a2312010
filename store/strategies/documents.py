"""Checks of what the strategy adapters store and of their arguments, shared so both
adapters accept and refuse alike (``ValueError`` naming the field, before anything is
written). A document is JSON data both keep exactly (``store.alerts.documents.json_data``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.timestamps import parse_ts
from store.alerts.documents import json_data
from store.sessions import text
from store.strategies.port import STRATEGY_KEY_FIELDS

TIMED_STRATEGY_OPS = (
    "create_strategy", "strategies_of", "strategy", "replace_strategy", "delete_strategy",
    "ping",
)  # fmt: skip
"""Every operation of the strategy port but ``close`` (``store.timing``)."""

IMMUTABLE_FIELDS = ("owner", "created_at")
"""Fields ``replace_strategy`` keeps as stored."""

_TIMESTAMPS = frozenset({"created_at", "updated_at"})


def strategy_document(strategy: Any) -> dict[str, Any]:
    """A plain copy of ``strategy`` once checked: :data:`STRATEGY_KEY_FIELDS` non-empty
    strings (the two instants wire timestamps), ``legs`` a list, no ``_id``."""
    if not isinstance(strategy, Mapping):
        raise ValueError(f"strategy must be a JSON object, got {type(strategy).__name__}")
    doc: dict[str, Any] = json_data(strategy, "strategy")
    if "_id" in doc:
        raise ValueError("strategy._id: a key the store keeps for itself")
    for key in STRATEGY_KEY_FIELDS:
        text(doc.get(key), f"strategy.{key}")
        if key in _TIMESTAMPS:
            try:
                parse_ts(doc[key])
            except ValueError as exc:
                raise ValueError(f"strategy.{key}: {exc}") from exc
    if not isinstance(doc.get("legs"), list):
        raise ValueError(f"strategy.legs must be a list, got {doc.get('legs')!r}")
    return doc


def replacement(owner: Any, strategy: Any) -> dict[str, Any]:
    """The checked copy of ``strategy`` replacing one of ``owner``'s (whose owner it must
    be)."""
    owner = text(owner, "owner")
    doc = strategy_document(strategy)
    if doc["owner"] != owner:
        raise ValueError(f"strategy.owner cannot change (stored: {owner!r})")
    return doc


def check_unchanged(stored: Mapping[str, Any], strategy: Mapping[str, Any]) -> None:
    """``ValueError`` naming the first of :data:`IMMUTABLE_FIELDS` ``strategy`` changes."""
    for name in IMMUTABLE_FIELDS:
        if name in stored and stored[name] != strategy[name]:
            raise ValueError(f"strategy.{name} cannot change (stored: {stored[name]!r})")


def strategy_limit(limit: Any) -> int:
    """``limit`` if it is a whole number of strategies (0 or more)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number of strategies (0 or more), got {limit!r}")
    return limit
