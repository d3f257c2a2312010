"""An in-memory strategy repository that honours ``store.strategies.port.StrategyStore``,
for the unit tests (the integration tests use the real SQLite adapter)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from store.port import StoreError, StoreUnavailable
from store.strategies.port import STRATEGY_KEY_FIELDS, StrategyLimitReached


class MemoryStrategyStore:
    """Strategies in a dictionary; ``down = True`` makes every call unavailable."""

    def __init__(self) -> None:
        self.strategies: dict[str, dict[str, Any]] = {}
        self.down = False
        self.writes = 0
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("memory store down")

    def create_strategy(self, strategy: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        self._check()
        missing = [k for k in (*STRATEGY_KEY_FIELDS, "legs") if k not in strategy]
        if missing:
            raise ValueError(f"strategy without {missing}")
        with self._lock:
            if strategy["id"] in self.strategies:
                raise StoreError(f"strategy {strategy['id']} exists")
            held = sum(s["owner"] == strategy["owner"] for s in self.strategies.values())
            if held >= limit:
                raise StrategyLimitReached(f"{strategy['owner']} holds {limit} strategies")
            self.strategies[strategy["id"]] = copy.deepcopy(dict(strategy))
            self.writes += 1
        return copy.deepcopy(dict(strategy))

    def strategies_of(self, owner: str) -> list[dict[str, Any]]:
        self._check()
        mine = [s for s in self.strategies.values() if s["owner"] == owner]
        return copy.deepcopy(sorted(mine, key=lambda s: (s["created_at"], s["id"])))

    def strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        self._check()
        found = self.strategies.get(strategy_id)
        return copy.deepcopy(found) if found is not None and found["owner"] == owner else None

    def replace_strategy(self, owner: str, strategy: Mapping[str, Any]) -> dict[str, Any] | None:
        self._check()
        with self._lock:
            stored = self.strategies.get(strategy["id"])
            if stored is None or stored["owner"] != owner:
                return None
            for key in ("owner", "created_at"):
                if strategy[key] != stored[key]:
                    raise ValueError(f"{key} cannot change")
            self.strategies[strategy["id"]] = copy.deepcopy(dict(strategy))
            self.writes += 1
        return copy.deepcopy(dict(strategy))

    def delete_strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        self._check()
        with self._lock:
            stored = self.strategies.get(strategy_id)
            if stored is None or stored["owner"] != owner:
                return None
            self.writes += 1
            return self.strategies.pop(strategy_id)

    def ping(self) -> None:
        self._check()

    def close(self) -> None:
        pass
