"""The REST routes as data: each service declares its routes once here (in
``common/api/<service>.py``) and the gateway builds its proxy routes and the
OpenAPI document from the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from marshmallow import Schema

from common.latest import Entry
from common.tokens import Role

EdgeKey = Callable[[Mapping[str, Any]], Entry | None]
"""Validated path and query arguments → the ``latest:*`` entry holding the route's exact
200 body (read through :mod:`common.latest`)."""


class Upstream(StrEnum):
    """The service that answers a route."""

    AUTH = "auth"
    STORAGE = "storage"
    ANALYTICS = "analytics"
    LOGGING = "logging"
    ALERTS = "alerts"
    PAPER = "paper"


class Priority(StrEnum):
    """How the gateway treats a route under load (see load shedding)."""

    LIVE = "live"
    """Latest data, auth: served while the gateway sheds load."""
    HEAVY = "heavy"
    """History and analytics: answered 503 with Retry-After while shedding."""


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route: ``path`` is the service's (Flask syntax, e.g. ``/data/chain/<product>``);
    the gateway serves it under ``/api``."""

    name: str
    """Unique, used as the Flask endpoint and the OpenAPI operationId."""
    method: str
    path: str
    upstream: Upstream
    summary: str
    responses: Mapping[int, type[Schema] | None]
    """Status → body schema (``None``: no body, e.g. 204). Errors use ``ErrorSchema``."""
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    auth: bool = True
    """Needs a valid access token at the gateway."""
    roles: frozenset[Role] | None = None
    """With ``auth``: the token roles allowed (403 for the others); ``None``: any role."""
    priority: Priority = Priority.LIVE
    tags: tuple[str, ...] = field(default=())
    edge_key: EdgeKey | None = None
    """Where the answer already lies in Redis, byte for byte (``latest:*``, written by
    the workers): the gateway serves a hit itself and forwards only a miss or a
    ``None`` key. Only for routes whose service would answer a hit with those exact
    bytes and nothing else."""

    def __post_init__(self) -> None:
        if self.roles is not None and (not self.auth or not self.roles):
            raise ValueError(f"{self.name}: roles needs auth=True and at least one role")

    def allows(self, role: Role) -> bool:
        """A token of ``role`` may use the route (its authentication aside)."""
        return self.roles is None or role in self.roles
