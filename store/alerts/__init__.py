"""The alert repository: its port and the factory choosing its adapter from ``STORE_URL``.

The same URL as the main store (``store.parse_store_url``): ``sqlite:///…`` opens the
tables ``alerts`` and ``alert_triggers`` in the main store's SQLite file, ``mongodb://…``
the collections ``alerts``, ``alert_triggers`` and ``alert_quotas`` in its database.
Adapters are imported only when chosen.
"""

from __future__ import annotations

from store import parse_store_url
from store.alerts.port import MAX_TRIGGER_PAGE, AlertLimitReached, AlertStore

__all__ = ["MAX_TRIGGER_PAGE", "AlertLimitReached", "AlertStore", "open_alert_store"]


def open_alert_store(url: str) -> AlertStore:
    """The alert repository at ``url``; ``ValueError`` naming STORE_URL for an unusable URL.

    Connecting may raise ``StoreUnavailable`` (retry later).
    """
    where = parse_store_url(url)
    if where.adapter == "sqlite":
        from store.alerts.sqlite import SqliteAlertStore

        return SqliteAlertStore(where.path, busy_timeout_ms=where.busy_timeout_ms)
    from store.alerts.mongo import MongoAlertStore

    return MongoAlertStore(url)
