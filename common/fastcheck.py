"""A fast acceptance test for market messages already in canonical, valid form.

The marshmallow schemas of :mod:`common.schemas` stay the contract and the only
source of error messages; loading a chain through them costs milliseconds.
:func:`fast_valid` answers one question cheaply: is this message certainly
accepted by its schema *unchanged*? ``True`` means ``SCHEMAS[channel].load(message)``
would succeed and return a dict equal to ``message``, so the caller can use
``message`` as it is. ``False`` means nothing more than "ask marshmallow", which
then coerces (``"1.5"`` → ``1.5``) or rejects with its reasons.

Every check here is the schema's own or stricter, never looser:

- only exact ``dict``, ``list``, ``str``, ``int`` and ``float`` objects (no
  subclasses, no bytes, no tuples, which marshmallow would convert);
- an ``int`` in a ``Float`` field only up to 2**53, where ``float(n) == n``;
- the product and timestamp patterns are matched in full, so the trailing
  newline that ``$`` lets through goes the slow way; expiries must be
  ``YYYY-MM-DD`` in ASCII digits (``date.fromisoformat`` also takes ``2026-W48-4``).

Chain rows are checked column by column with C-level builtins (``map``,
``set``, ``min``, ``math.isfinite``) rather than a Python loop per row.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any

from common.names import Channel
from common.schemas import MAX_COUNT, MAX_STRIKES, PRODUCT_PATTERN, OptionType

__all__ = ["fast_valid"]

_MAX_EXACT_INT = 2**53
"""Every ``int`` up to this size is exactly a float, so a ``Float`` field loads it unchanged."""
_INF = math.inf
_NUMBER = frozenset((int, float))
_INT = frozenset((int,))
_DICT = frozenset((dict,))
_OPTION_TYPES = frozenset(t.value for t in OptionType)
_STRIKE_TOLERANCE = 1e-9
"""``OptionChainSchema``: a row's strike may differ from its listed strike by this much."""

_product_match = re.compile(PRODUCT_PATTERN).fullmatch
_timestamp_match = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"
).fullmatch
_expiry_match = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_close = functools.partial(math.isclose, rel_tol=0.0, abs_tol=_STRIKE_TOLERANCE)


_ENVELOPE = ("product", "timestamp", "seq")
# Compared as ``message.keys() == _..._KEYS``: a dict view against a set, in C.
_TICK_KEYS = frozenset((*_ENVELOPE, "type", "price", "volume"))
_QUOTE_KEYS = frozenset(
    (*_ENVELOPE, "symbol", "expiry", "strike", "option_type", "bid", "ask", "last", "volume", "oi")
)
_CHAIN_KEYS = frozenset((*_ENVELOPE, "expiry", "spot_price", "strikes", "calls", "puts"))
_ROW_FIELDS = ("strike", "bid", "ask", "last", "volume", "oi")
_ROW_LENGTH = frozenset((len(_ROW_FIELDS),))
_row_values = operator.itemgetter(*_ROW_FIELDS)


def _positive(value: object) -> bool:
    """``Float`` with ``Range(min=0, min_inclusive=False)``: finite and > 0."""
    if type(value) is float:
        return 0.0 < value < _INF  # NaN fails both comparisons
    return type(value) is int and 0 < value <= _MAX_EXACT_INT


def _non_negative(value: object) -> bool:
    """``Float`` with ``Range(min=0)``: finite and >= 0 (-0.0 included, as in marshmallow)."""
    if type(value) is float:
        return 0.0 <= value < _INF
    return type(value) is int and 0 <= value <= _MAX_EXACT_INT


def _count(value: object) -> bool:
    """``Integer(strict=True)`` with ``Range(0, MAX_COUNT)``: an int, never a bool."""
    return type(value) is int and 0 <= value <= MAX_COUNT


def _product(value: object) -> bool:
    return type(value) is str and _product_match(value) is not None


def _timestamp(value: object) -> bool:
    """What ``parse_ts`` accepts, without its trailing-newline leniency."""
    if type(value) is not str or _timestamp_match(value) is None or value < "1970":
        return False
    try:
        dt.datetime.fromisoformat(value[:-1])
    except ValueError:  # a day, hour, minute or second out of range
        return False
    return True


def _expiry(value: object) -> bool:
    """What ``parse_expiry`` accepts, limited to ``YYYY-MM-DD``."""
    if type(value) is not str or _expiry_match(value) is None:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _floats(values: Sequence[float], positive: bool) -> bool:
    """Every item of the non-empty ``values`` passes :func:`_positive` or :func:`_non_negative`."""
    kinds = set(map(type, values))
    if not kinds <= _NUMBER:
        return False
    if int in kinds:
        ints = [v for v in values if type(v) is int]
        # Also keeps math.isfinite and sum below from overflowing.
        if min(ints) < 0 or max(ints) > _MAX_EXACT_INT:
            return False
    # A NaN or an infinity makes the sum non-finite; a finite sum proves there is none, and
    # only a sum that overflowed needs the item-by-item check.
    if not math.isfinite(sum(values)) and not all(map(math.isfinite, values)):
        return False
    low = min(values)  # well defined: no NaN left
    return low > 0 if positive else low >= 0


def _tick(m: dict[Any, Any]) -> bool:
    return (
        m.keys() == _TICK_KEYS
        and type(m["type"]) is str
        and m["type"] == "underlying"
        and _product(m["product"])
        and _positive(m["price"])
        and _count(m["volume"])
        and _count(m["seq"])
        and _timestamp(m["timestamp"])
    )


def _quote(m: dict[Any, Any]) -> bool:
    symbol, option_type = m.get("symbol"), m.get("option_type")
    return (
        m.keys() == _QUOTE_KEYS
        and type(symbol) is str
        and 1 <= len(symbol) <= 64
        and type(option_type) is str
        and option_type in _OPTION_TYPES
        and _product(m["product"])
        and _positive(m["strike"])
        and _non_negative(m["bid"])
        and _non_negative(m["ask"])
        and _non_negative(m["last"])
        and _count(m["volume"])
        and _count(m["oi"])
        and _count(m["seq"])
        and _expiry(m["expiry"])
        and _timestamp(m["timestamp"])
    )


def _rows(calls: Any, puts: Any, strikes: list[float]) -> bool:
    """Both sides: one exact ``ChainRowSchema`` row per strike, each at its strike within 1e-9."""
    n = len(strikes)
    if type(calls) is not list or type(puts) is not list or len(calls) != n or len(puts) != n:
        return False
    rows = calls + puts
    # Six keys, and every field name found among them: exactly the row's fields.
    if set(map(type, rows)) != _DICT or set(map(len, rows)) != _ROW_LENGTH:
        return False
    try:
        row_strikes, bid, ask, last, volume, oi = zip(*map(_row_values, rows), strict=True)
    except KeyError:
        return False
    if not (_floats(row_strikes, positive=True) and _floats(bid + ask + last, positive=False)):
        return False
    both = strikes + strikes
    if list(row_strikes) != both and not all(map(_close, row_strikes, both)):
        return False
    counts = volume + oi
    return set(map(type, counts)) == _INT and min(counts) >= 0 and max(counts) <= MAX_COUNT


def _option_chain(m: dict[Any, Any]) -> bool:
    if not (
        m.keys() == _CHAIN_KEYS
        and _product(m["product"])
        and _positive(m["spot_price"])
        and _count(m["seq"])
        and _expiry(m["expiry"])
        and _timestamp(m["timestamp"])
    ):
        return False
    strikes = m["strikes"]
    if type(strikes) is not list or not 1 <= len(strikes) <= MAX_STRIKES:
        return False
    if not _floats(strikes, positive=True):
        return False
    if not all(map(operator.lt, strikes, islice(strikes, 1, None))):  # strictly increasing
        return False
    return _rows(m["calls"], m["puts"], strikes)


_CHECKS: dict[Channel, Callable[[dict[Any, Any]], bool]] = {
    Channel.MARKET_UNDERLYING: _tick,
    Channel.MARKET_OPTION_QUOTE: _quote,
    Channel.MARKET_OPTION_CHAIN: _option_chain,
}


def fast_valid(channel: Channel, message: dict[str, Any]) -> bool:
    """True only if ``SCHEMAS[channel].load(message)`` succeeds and returns a dict equal to it.

    False means "not decided here": run the schema. Channels other than the
    three market channels always give False.
    """
    check = _CHECKS.get(channel)
    return check is not None and type(message) is dict and check(message)
