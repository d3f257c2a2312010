"""The ``/alerts`` blueprints (``common.api.alerts`` describes the routes)."""

from __future__ import annotations

from alert_service.routes.alerts import blp as alerts_blp
from alert_service.routes.history import blp as history_blp

# history first: /alerts/history is no alert id (its pattern refuses it anyway)
BLUEPRINTS = (history_blp, alerts_blp)

__all__ = ["BLUEPRINTS"]
