"""Each product's active alert rules as the workers evaluate them, read from the store
only when alert_service says they changed.

alert_service sets ``alert_version_key(product)`` to a new token after every write; a
worker holding another token (or none: the key was never set or Redis lost it) reads the
product's active alerts again. Without a token the rules are read again every
``refresh_s`` at most, so a lost key costs one store query per product that often.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from alerts.evaluate import RuleColumns
from alerts.rules import AlertRule, Metric, RuleError, check_rule
from store.alerts.port import AlertStore

log = logging.getLogger(__name__)

REFRESH_S = 30.0
"""How long rules read without a version token are trusted."""
_NOT_RULE_FIELDS = ("webhook_secret", "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class ProductRules:
    """The active rules of one product, in the order of their columns."""

    product: str
    token: str | None
    rules: tuple[AlertRule, ...]
    columns: RuleColumns
    keys: str
    """Each rule's state identity (``id@updated_at``: an edited rule starts afresh), joined
    by newlines: the evaluation state is aligned with these."""
    loaded_at: float = field(compare=False)
    digest: bytes = field(default=b"", compare=False)
    """A digest of ``keys`` (the stored state's order is checked against it)."""

    def __post_init__(self) -> None:
        digest = hashlib.blake2b(self.keys.encode(), digest_size=16).digest()
        object.__setattr__(self, "digest", digest)

    def __len__(self) -> int:
        return len(self.rules)


def rule_of(doc: Mapping[str, Any]) -> AlertRule:
    """The rule of a stored alert document (``ValueError`` when it is not one)."""
    fields = {k: v for k, v in doc.items() if k not in _NOT_RULE_FIELDS}
    try:
        return check_rule(msgspec.convert(fields, AlertRule))
    except (msgspec.ValidationError, RuleError) as exc:
        raise ValueError(f"alert {doc.get('id')!r}: {exc}") from exc


def product_rules(
    product: str,
    token: str | None,
    docs: list[dict[str, Any]],
    now: float,
    *,
    spot: bool | None = None,
) -> ProductRules:
    """The columns of ``docs`` (active alerts of ``product``), unusable documents left out
    and logged; ``spot``: only the ``spot`` rules (True), only the others (False)."""
    rules: list[AlertRule] = []
    keys: list[str] = []
    for doc in sorted(docs, key=lambda d: str(d.get("id"))):
        try:
            rule = rule_of(doc)
        except ValueError as exc:
            log.error("stored alert skipped", extra={"product": product, "error": str(exc)})
            continue
        wanted = spot is None or (rule.metric is Metric.SPOT) is spot
        if rule.active and rule.product == product and wanted:
            rules.append(rule)
            keys.append(f"{rule.id}@{doc.get('updated_at', '')}")
    return ProductRules(
        product, token, tuple(rules), RuleColumns.of(rules), "\n".join(keys), loaded_at=now
    )


@dataclass(frozen=True, slots=True)
class RuleSets:
    """A product's rules in two sets, each with a state of its own: those of the underlying
    ticks (``spot``), evaluated on every tick, and those of the chains (every other metric),
    so that a tick costs only the rules it can move."""

    spot: ProductRules
    chain: ProductRules

    @property
    def token(self) -> str | None:
        return self.spot.token

    @property
    def loaded_at(self) -> float:
        return self.spot.loaded_at

    @property
    def keys(self) -> str:
        return self.spot.keys + "|" + self.chain.keys

    def __len__(self) -> int:
        return len(self.spot) + len(self.chain)


class RuleBook:
    """This process's copy of each product's rules."""

    def __init__(
        self,
        store: AlertStore,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._refresh_s, self._clock = store, refresh_s, clock
        self._held: dict[str, RuleSets] = {}

    def rules(self, product: str, token: str | None) -> RuleSets:
        """``product``'s rules for the version ``token`` read from Redis (``None``: none
        there); from the store when this copy is of another version or too old."""
        now = self._clock()
        held = self._held.get(product)
        fresh_enough = held is not None and (
            token is not None or now - held.loaded_at < self._refresh_s
        )
        if held is not None and held.token == token and fresh_enough:
            return held
        docs = self._store.active_alerts(product)
        fresh = RuleSets(
            product_rules(product, token, docs, now, spot=True),
            product_rules(product, token, docs, now, spot=False),
        )
        self._held[product] = fresh
        if held is None or held.keys != fresh.keys:
            log.info("alert rules read", extra={"product": product, "rules": len(fresh)})
        return fresh
