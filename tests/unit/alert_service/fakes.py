"""An in-memory alert repository that honours ``store.alerts.port.AlertStore``, for the
unit tests (the integration tests use the real SQLite adapter)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from store.alerts.port import (
    ALERT_KEY_FIELDS,
    MAX_TRIGGER_PAGE,
    TRIGGER_KEY_FIELDS,
    AlertLimitReached,
)
from store.port import StoreError, StoreUnavailable


class MemoryAlertStore:
    """Alerts and triggers in dictionaries; ``down = True`` makes every call unavailable."""

    def __init__(self) -> None:
        self.alerts: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.down = False
        self.writes = 0
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("memory store down")

    def create_alert(self, alert: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        self._check()
        missing = [k for k in ALERT_KEY_FIELDS if k not in alert]
        if missing:
            raise ValueError(f"alert without {missing}")
        with self._lock:
            if alert["id"] in self.alerts:
                raise StoreError(f"alert {alert['id']} exists")
            if sum(a["owner"] == alert["owner"] for a in self.alerts.values()) >= limit:
                raise AlertLimitReached(f"{alert['owner']} holds {limit} alerts")
            self.alerts[alert["id"]] = copy.deepcopy(dict(alert))
            self.writes += 1
        return copy.deepcopy(dict(alert))

    def alerts_of(self, owner: str) -> list[dict[str, Any]]:
        self._check()
        mine = [a for a in self.alerts.values() if a["owner"] == owner]
        return copy.deepcopy(sorted(mine, key=lambda a: (a["created_at"], a["id"])))

    def alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        self._check()
        found = self.alerts.get(alert_id)
        return copy.deepcopy(found) if found is not None and found["owner"] == owner else None

    def replace_alert(self, owner: str, alert: Mapping[str, Any]) -> dict[str, Any] | None:
        self._check()
        with self._lock:
            stored = self.alerts.get(alert["id"])
            if stored is None or stored["owner"] != owner:
                return None
            for key in ("owner", "product", "created_at"):
                if alert[key] != stored[key]:
                    raise ValueError(f"{key} cannot change")
            self.alerts[alert["id"]] = copy.deepcopy(dict(alert))
            self.writes += 1
        return copy.deepcopy(dict(alert))

    def delete_alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        self._check()
        with self._lock:
            stored = self.alerts.get(alert_id)
            if stored is None or stored["owner"] != owner:
                return None
            self.writes += 1
            return self.alerts.pop(alert_id)

    def active_alerts(self, product: str) -> list[dict[str, Any]]:
        self._check()
        return [copy.deepcopy(a) for a in self.alerts.values()
                if a["product"] == product and a["active"]]  # fmt: skip

    def record_triggers(self, triggers: Sequence[Mapping[str, Any]]) -> int:
        self._check()
        new = 0
        for trigger in triggers:
            if any(k not in trigger for k in TRIGGER_KEY_FIELDS):
                raise ValueError("trigger without its key fields")
            if trigger["trigger_id"] not in self.triggers:
                self.triggers[trigger["trigger_id"]] = copy.deepcopy(dict(trigger))
                new += 1
        return new

    def triggers_of(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        self._check()
        if not 1 <= limit <= MAX_TRIGGER_PAGE:
            raise ValueError(f"limit {limit} out of 1..{MAX_TRIGGER_PAGE}")
        mine = [t for t in self.triggers.values() if t["owner"] == owner]
        mine.sort(key=lambda t: (t["triggered_at"], t["trigger_id"]), reverse=True)
        if before is not None:
            mine = [t for t in mine if (t["triggered_at"], t["trigger_id"]) < before]
        return copy.deepcopy(mine[:limit])

    def ping(self) -> None:
        self._check()

    def close(self) -> None:
        pass
