"""The ``/analytics/<product>/…`` blueprints."""

from __future__ import annotations

from analytics_service.routes.candles import blp as candles_blp
from analytics_service.routes.chains import blp as chains_blp
from analytics_service.routes.volatility import blp as volatility_blp

BLUEPRINTS = (chains_blp, volatility_blp, candles_blp)

__all__ = ["BLUEPRINTS"]
