"""Alert documents: built from a request body, merged with a change, checked whole.

No I/O and no Flask: the routes give what the request said, the owner, the clock's
instant and the policy (registered products, the webhook rule) and get the document to
store, or :class:`~alerts.rules.RuleError` naming the field at fault (422).

The rule fields are ``alerts.rules.AlertRule``'s; the service adds ``webhook_secret``
(made when the alert gets a ``webhook_url``, kept while it has one, even when the URL
changes, and dropped with it), ``created_at`` and ``updated_at``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from alerts.destinations import WebhookUrlError, check_webhook_url
from alerts.rules import AlertRule, RuleError, rule_from
from common.timestamps import format_ts, parse_ts

SERVICE_FIELDS = ("webhook_secret", "created_at", "updated_at")
"""Members of an alert document that are not rule fields."""
ID_PREFIX = "al_"


def new_alert_id() -> str:
    """``al_`` and 22 URL-safe characters (128 random bits)."""
    return ID_PREFIX + secrets.token_urlsafe(16)


def new_webhook_secret() -> str:
    """64 hex digits (256 random bits): the key of a webhook's HMAC-SHA256 signature."""
    return secrets.token_hex(32)


@dataclass(frozen=True, slots=True)
class Policy:
    """What an alert may name beyond its rule's own checks."""

    products: Collection[str]
    """The products the platform serves (``serving_registry(settings).products``)."""
    allow_private: bool = False
    """``ALERT_WEBHOOK_ALLOW_PRIVATE``: webhooks may go to non-public addresses."""

    def check_product(self, product: str) -> None:
        if product not in self.products:
            served = ", ".join(sorted(self.products))
            raise RuleError("product", f"not a product the platform serves ({served})")

    def check_webhook(self, url: str) -> None:
        try:
            check_webhook_url(url, allow_private=self.allow_private)
        except WebhookUrlError as exc:
            raise RuleError("webhook_url", str(exc)) from None


def rule_of(doc: Mapping[str, Any]) -> AlertRule:
    """The rule of an alert document (its service fields left out), checked."""
    return rule_from({k: v for k, v in doc.items() if k not in SERVICE_FIELDS})


def document(
    rule: AlertRule, secret: str | None, created_at: str, updated_at: str
) -> dict[str, Any]:
    """The alert document: the rule's fields in their order, ``webhook_secret`` after
    ``webhook_url``, then the two instants."""
    doc: dict[str, Any] = {}
    for key, value in msgspec.to_builtins(rule).items():
        doc[key] = value
        if key == "webhook_url":
            doc["webhook_secret"] = secret
    return {**doc, "created_at": created_at, "updated_at": updated_at}


def new_alert(
    body: Mapping[str, Any],
    *,
    owner: str,
    now: dt.datetime,
    policy: Policy,
    new_id: Callable[[], str] = new_alert_id,
    new_secret: Callable[[], str] = new_webhook_secret,
) -> dict[str, Any]:
    """The document of a new alert of ``owner`` from a validated ``POST /alerts`` body:
    the rule checked, then its product, then its webhook URL."""
    rule = rule_from({**body, "id": new_id(), "owner": owner})
    policy.check_product(rule.product)
    if rule.webhook_url is not None:
        policy.check_webhook(rule.webhook_url)
    secret = None if rule.webhook_url is None else new_secret()
    at = format_ts(now)
    return document(rule, secret, at, at)


def merged_alert(
    stored: Mapping[str, Any],
    change: Mapping[str, Any],
    *,
    now: dt.datetime,
    policy: Policy,
    new_secret: Callable[[], str] = new_webhook_secret,
) -> dict[str, Any] | None:
    """``stored`` with ``change`` (a validated ``PATCH`` body) merged in and the whole rule
    checked again; ``None`` when the change changes nothing.

    ``product`` cannot change. A ``webhook_url`` the change sets is checked (one already
    stored is not again: a paused alert can be resumed whatever the rule became since).
    ``updated_at`` is ``now``, or a millisecond after the stored one if ``now`` is not
    later: the workers start an edited rule's state afresh by it.
    """
    if "product" in change and change["product"] != stored["product"]:
        raise RuleError("product", "cannot change: delete the alert and create another")
    merged = {k: v for k, v in stored.items() if k not in SERVICE_FIELDS}
    merged.update(change)
    rule = rule_from(merged)
    if "webhook_url" in change and rule.webhook_url is not None:
        policy.check_webhook(rule.webhook_url)
    secret = stored.get("webhook_secret") if rule.webhook_url is not None else None
    if rule.webhook_url is not None and secret is None:
        secret = new_secret()
    same = document(rule, secret, stored["created_at"], stored["updated_at"])
    if same == dict(stored):
        return None
    return {**same, "updated_at": _later(now, stored["updated_at"])}


def _later(now: dt.datetime, before: str) -> str:
    """``now`` in the wire format if after ``before``, else a millisecond after it."""
    at = format_ts(now)
    if at > before:
        return at
    return format_ts(parse_ts(before) + dt.timedelta(milliseconds=1))
