"""``/alerts``: create, list, read, change and delete the caller's alerts.

Every route is the caller's (``X-User-Id``): another user's alert id is a 404, as an
unknown one is. Each write sets the product's version key before and after the store
write (``AlertContext.changing`` / ``changed``), so the workers read its rules again.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from alert_service.context import alert_context, caller
from alert_service.documents import merged_alert, new_alert
from alert_service.routes.register import route
from common.api.alerts import AlertCreateBody, AlertIdPath, AlertPatchBody
from common.api.data import NoQuery
from common.web import ApiError, json_response
from common.web.openapi import Blueprint

blp = Blueprint("alerts", __name__, description="The caller's alerts.")

ONE = "/alerts/<alert_id>"


def _checked(alert_id: str) -> str:
    """``alert_id`` when it has an alert id's form; else 422 naming ``alert_id``."""
    AlertIdPath().load({"alert_id": alert_id})
    return alert_id


def _missing(alert_id: str) -> ApiError:
    return ApiError(404, f"no alert {alert_id}")


def _stored(owner: str, alert_id: str) -> dict[str, Any]:
    """The caller's alert ``alert_id``; 404 when there is none (or it is another user's)."""
    found = alert_context().repository().alert(owner, _checked(alert_id))
    if found is None:
        raise _missing(alert_id)
    return found


@route(blp, "POST", "/alerts", AlertCreateBody, "json")
def create_alert(body: dict[str, Any]) -> Response:
    """A new alert: 201 with it, its id and (with a webhook_url) its webhook_secret."""
    context, owner = alert_context(), caller()
    doc = new_alert(body, owner=owner, now=context.clock(), policy=context.policy)
    store = context.repository()
    context.changing(doc["product"])
    stored = store.create_alert(doc, limit=context.per_user)  # AlertLimitReached: 409
    context.changed(doc["product"], doc["id"])
    return json_response(stored, 201)


@route(blp, "GET", "/alerts", NoQuery, "query")
def list_alerts(_args: dict[str, Any]) -> Response:
    """The caller's alerts, oldest first."""
    owner = caller()
    return json_response({"alerts": alert_context().repository().alerts_of(owner)})


@route(blp, "GET", ONE, NoQuery, "query")
def get_alert(_args: dict[str, Any], alert_id: str) -> Response:
    return json_response(_stored(caller(), alert_id))


@route(blp, "PATCH", ONE, AlertPatchBody, "json")
def update_alert(change: dict[str, Any], alert_id: str) -> Response:
    """The alert with ``change`` merged in, checked whole; unchanged, it is not written."""
    context, owner = alert_context(), caller()
    stored = _stored(owner, alert_id)
    doc = merged_alert(stored, change, now=context.clock(), policy=context.policy)
    if doc is None:
        return json_response(stored)
    context.changing(doc["product"])
    saved = context.repository().replace_alert(owner, doc)
    if saved is None:  # deleted since it was read
        raise _missing(alert_id)
    context.changed(doc["product"], alert_id)
    return json_response(saved)


@route(blp, "DELETE", ONE, NoQuery, "query")
def delete_alert(_args: dict[str, Any], alert_id: str) -> Response:
    """204; the alert's triggers stay in the history."""
    context, owner = alert_context(), caller()
    product = _stored(owner, alert_id)["product"]
    context.changing(product)
    if context.repository().delete_alert(owner, alert_id) is None:  # deleted meanwhile
        raise _missing(alert_id)
    context.changed(product, alert_id)
    return Response(status=204)
