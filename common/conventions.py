"""Market conventions shared by the feed and the enricher (defaults of the settings)."""

from __future__ import annotations

import datetime as dt

DEFAULT_RISK_FREE_RATE = 0.065
"""Continuously compounded rate per year used to price and to imply volatility."""
DEFAULT_DIVIDEND_YIELD = 0.0
"""Continuous dividend yield per year."""
DEFAULT_EXPIRY_TIME_UTC = dt.time(10, 0)
"""Options expire at 15:30 IST on their expiry date."""
