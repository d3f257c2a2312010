"""The service's blueprints (``common.api.strategies`` describes the routes); paper trading's
(``/paper/*``, ``common.api.paper``) follow them."""

from __future__ import annotations

from paper_service.routes.paper_orders import blp as paper_orders_blp
from paper_service.routes.paper_positions import blp as paper_positions_blp
from paper_service.routes.strategies import blp as strategies_blp
from paper_service.routes.templates import blp as templates_blp

BLUEPRINTS = (templates_blp, strategies_blp, paper_orders_blp, paper_positions_blp)

__all__ = ["BLUEPRINTS"]
