"""The alert repository port: users' alerts and the history of their triggers.

An alert is a JSON document keyed by ``id`` and owned by ``owner`` (a user id); every
owner-facing method takes the owner, so a user reaches only their own alerts. A trigger
is keyed by ``trigger_id`` (deterministic, set by the evaluation): recording it again is a
no-op, so a retried delivery never duplicates the history.

Timestamps are wire strings (``2026-11-21T09:41:00.123Z``, ``common.timestamps``), which
sort as text in time order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from store.port import StoreError

MAX_TRIGGER_PAGE = 500
"""Upper bound of ``limit`` in :meth:`AlertStore.triggers_of`."""

ALERT_KEY_FIELDS = ("id", "owner", "product", "created_at", "updated_at")
"""Keys every alert document carries (the rest is the rule: ``alerts.rules.AlertRule``)."""

TRIGGER_KEY_FIELDS = ("trigger_id", "alert_id", "owner", "product", "triggered_at")
"""Keys every trigger document carries."""


class AlertLimitReached(StoreError):  # noqa: N818  # the port's names read as states
    """The owner already holds ``limit`` alerts; nothing was written."""


@runtime_checkable
class AlertStore(Protocol):
    """Repository of alerts and their triggers (SQLite, MongoDB).

    Every method is synchronous and may raise ``StoreUnavailable`` (transient: retry) or
    ``StoreError``; invalid arguments raise ``ValueError`` before anything is written.
    Documents are JSON data and are read back exactly as written.
    """

    def create_alert(self, alert: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        """Store a new alert (all of :data:`ALERT_KEY_FIELDS` set by the caller) unless its
        owner already holds ``limit`` alerts (:class:`AlertLimitReached`). Counting and
        inserting are one atomic step: concurrent creations never pass the limit together.
        An ``id`` already stored raises ``StoreError``. Returns the alert as stored."""
        ...

    def alerts_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's alerts, oldest first (by ``created_at``, then ``id``)."""
        ...

    def alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        """The owner's alert ``alert_id``, or ``None`` (none, or another user's)."""
        ...

    def replace_alert(self, owner: str, alert: Mapping[str, Any]) -> dict[str, Any] | None:
        """Replace the owner's alert ``alert["id"]`` by ``alert`` (its ``owner``,
        ``product`` and ``created_at`` must be the stored ones: ``ValueError`` otherwise);
        the alert as stored, or ``None`` when the owner has no such alert."""
        ...

    def delete_alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        """Delete the owner's alert ``alert_id``; the deleted alert, or ``None``. Its
        triggers stay in the history."""
        ...

    def active_alerts(self, product: str) -> list[dict[str, Any]]:
        """Every user's alerts of ``product`` with ``active`` true, in no set order (the
        workers' evaluation reads these)."""
        ...

    def record_triggers(self, triggers: Sequence[Mapping[str, Any]]) -> int:
        """Store triggers (each with :data:`TRIGGER_KEY_FIELDS`) in one transaction; one
        whose ``trigger_id`` is stored already (or repeated in ``triggers``) is skipped.
        Returns how many were new."""
        ...

    def triggers_of(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The owner's triggers, newest first by (``triggered_at``, ``trigger_id``);
        ``limit`` 1..:data:`MAX_TRIGGER_PAGE`; ``before=(triggered_at, trigger_id)`` of
        the last row of a page gives the rows strictly after it in that order (keyset
        pagination)."""
        ...

    def ping(self) -> None:
        """Return if the store answers; raise ``StoreUnavailable`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections; the repository must not be used afterwards."""
        ...
