"""The saved-strategy repository port: users' strategies (a name, legs and a note).

A strategy is a JSON document keyed by ``id`` and owned by ``owner`` (a user id); every
method takes the owner, so a user reaches only their own strategies. Timestamps are wire
strings (``2026-12-06T09:41:00.123Z``, ``common.timestamps``), which sort as text in time
order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from store.port import StoreError

STRATEGY_KEY_FIELDS = ("id", "owner", "name", "created_at", "updated_at")
"""Keys every strategy document carries (besides ``legs``, a list)."""


class StrategyLimitReached(StoreError):  # noqa: N818  # the port's names read as states
    """The owner already holds ``limit`` strategies; nothing was written."""


@runtime_checkable
class StrategyStore(Protocol):
    """Repository of saved strategies (SQLite, MongoDB).

    Every method is synchronous and may raise ``StoreUnavailable`` (transient: retry) or
    ``StoreError``; invalid arguments raise ``ValueError`` before anything is written.
    Documents are JSON data and are read back exactly as written.
    """

    def create_strategy(self, strategy: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        """Store a new strategy (:data:`STRATEGY_KEY_FIELDS` and ``legs`` set by the caller)
        unless its owner already holds ``limit`` (:class:`StrategyLimitReached`). Counting
        and inserting are one atomic step: concurrent creations never pass the limit
        together. An ``id`` already stored raises ``StoreError``. Returns it as stored."""
        ...

    def strategies_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's strategies, oldest first (by ``created_at``, then ``id``)."""
        ...

    def strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        """The owner's strategy ``strategy_id``, or ``None`` (none, or another user's)."""
        ...

    def replace_strategy(self, owner: str, strategy: Mapping[str, Any]) -> dict[str, Any] | None:
        """Replace the owner's strategy ``strategy["id"]`` by ``strategy`` (its ``owner``
        and ``created_at`` must be the stored ones: ``ValueError`` otherwise); the strategy
        as stored, or ``None`` when the owner has no such strategy."""
        ...

    def delete_strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        """Delete the owner's strategy ``strategy_id``; the deleted strategy, or ``None``."""
        ...

    def ping(self) -> None:
        """Return if the store answers; raise ``StoreUnavailable`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections; the repository must not be used afterwards."""
        ...
