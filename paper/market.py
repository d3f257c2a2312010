"""The market of an instrument in an enriched chain: the quote a paper order fills against.

An option's quote is its row's bid and ask (a side of 0 or less is no quote) with the
chain's spot as the underlying, each rounded to ``PLACES`` decimal places (a venue's coin
prices converted to USD carry more digits than money keeps); the underlying's own quote
(no expiry) is the spot on both sides. A strike the chain does not list, or a chain of
another product or expiry, gives no quote. Pure: the service (market orders) and the
workers (resting limit orders) both use it.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from common.messages.enums import OptionType
from paper.checks import quote_from_floats
from paper.documents import Instrument, Quote

__all__ = ["chain_quote"]

_ROWS = {OptionType.CALL: "calls", OptionType.PUT: "puts"}
PLACES = 8
"""Decimal places of a quoted price (the ledger's limit)."""


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return round(float(value), PLACES) if ok else None


def chain_quote(chain: Mapping[str, Any], instrument: Instrument) -> Quote | None:
    """``instrument``'s quote in ``chain`` (an enriched chain message), or ``None`` when the
    chain does not quote it (another product or expiry, a strike not listed, no spot)."""
    spot = _number(chain.get("spot_price"))
    if chain.get("product") != instrument.product or spot is None or spot <= 0:
        return None
    stamp = str(chain["timestamp"])
    if instrument.option_type is None:
        if instrument.expiry is not None:
            return None  # a future is not quoted by the chains
        return quote_from_floats(instrument, spot, spot, spot, stamp)
    if chain.get("expiry") != instrument.expiry or instrument.strike is None:
        return None
    strikes = chain.get("strikes") or []
    at = bisect.bisect_left(strikes, float(instrument.strike))
    if at >= len(strikes) or Decimal(repr(float(strikes[at]))) != instrument.strike:
        return None
    row = chain[_ROWS[instrument.option_type]][at]
    bid, ask = _number(row.get("bid")) or 0.0, _number(row.get("ask")) or 0.0
    return quote_from_floats(instrument, bid, ask, spot, stamp)
