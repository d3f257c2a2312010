"""The three market messages as JSON-ready dicts.

Their contract is the structs of ``common.messages`` (docs/MESSAGES.md), which
decode these dicts' JSON and encode it again to the same bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from common.messages import OptionType
from common.names import Channel
from feed_generator.book import ChainSnapshot


class Message(NamedTuple):
    """A message due at ``offset`` simulated seconds after the market's start."""

    offset: float
    channel: Channel
    payload: dict[str, Any]


def format_strike(strike: float) -> str:
    """``24000`` for 24000.0, ``12.5`` for 12.5: the strike as it appears in a symbol."""
    return str(int(strike)) if float(strike).is_integer() else repr(float(strike))


def option_symbol(product: str, expiry: dt.date, option_type: OptionType, strike: float) -> str:
    """``NIFTY251125C24000``: product, ``yymmdd``, C or P, strike without a trailing ``.0``."""
    side = "C" if option_type is OptionType.CALL else "P"
    return f"{product}{expiry:%y%m%d}{side}{format_strike(strike)}"


def underlying_message(
    product: str, price: float, volume: int, timestamp: str, seq: int
) -> dict[str, Any]:
    """``market:underlying``: ``volume`` is the quantity traded since the previous tick."""
    return {
        "type": "underlying",
        "product": product,
        "price": price,
        "volume": volume,
        "timestamp": timestamp,
        "seq": seq,
    }


def quote_message(
    product: str,
    expiry: dt.date,
    snapshot: ChainSnapshot,
    side: int,
    index: int,
    timestamp: str,
    seq: int,
) -> dict[str, Any]:
    """``market:option_quote`` of the option at ``snapshot.strikes[index]`` (side 0 call, 1 put)."""
    option_type = OptionType.CALL if side == 0 else OptionType.PUT
    strike = snapshot.strikes[index]
    return {
        "symbol": option_symbol(product, expiry, option_type, strike),
        "product": product,
        "expiry": expiry.isoformat(),
        "strike": strike,
        "option_type": option_type.value,
        "bid": snapshot.bid[side][index],
        "ask": snapshot.ask[side][index],
        "last": snapshot.last[side][index],
        "volume": snapshot.volume[side][index],
        "oi": snapshot.oi[side][index],
        "timestamp": timestamp,
        "seq": seq,
    }


def chain_message(
    product: str, expiry: dt.date, snapshot: ChainSnapshot, timestamp: str, seq: int
) -> dict[str, Any]:
    """``market:option_chain``: ``calls[i]`` and ``puts[i]`` belong to ``strikes[i]``.

    The row dicts are shared with the snapshot: consumers must not mutate them.
    """
    return {
        "product": product,
        "expiry": expiry.isoformat(),
        "spot_price": snapshot.spot,
        "strikes": snapshot.strikes,
        "calls": snapshot.rows[0],
        "puts": snapshot.rows[1],
        "timestamp": timestamp,
        "seq": seq,
    }
