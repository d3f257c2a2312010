"""Deribit option instrument names: ``BTC-27DEC26-100000-C`` parsed and validated.

The documented template is ``CURRENCY-DMMMYY-STRIKE-K``: the base currency, the
expiry date (day of month in one or two digits, the month's three English letters,
a two-digit year), the strike in USD and ``C`` or ``P``. Linear (USDC-settled)
options carry the quote after an underscore (``BTC_USDC-…``) and write a decimal
strike with ``d`` (``XRP_USDC-30MAY25-2d2-C`` is strike 2.2); both parse here, and
the normaliser decides which it accepts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from common.messages import OptionType

_NAME = re.compile(
    r"(?P<base>[A-Z]{2,10})(?:_(?P<quote>[A-Z]{2,10}))?"
    r"-(?P<day>[0-9]{1,2})(?P<month>[A-Z]{3})(?P<year>[0-9]{2})"
    r"-(?P<strike>[0-9]{1,12}(?:d[0-9]{1,8})?)-(?P<side>[CP])",
    re.ASCII,
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
EXPIRY_TIME_UTC = dt.time(8, 0)
"""Deribit's options expire at 08:00 UTC on their expiry date."""


@dataclass(frozen=True, slots=True)
class OptionName:
    """The parts of an option's instrument name."""

    name: str
    base: str
    """Base currency, BTC or ETH: the product."""
    quote: str | None
    """Quote currency of a linear option (USDC), ``None`` for the inverse (coin) options."""
    expiry: dt.date
    strike: float
    """Strike, USD per coin."""
    option_type: OptionType

    @property
    def expiry_instant(self) -> dt.datetime:
        """The expiry date at 08:00 UTC (aware)."""
        return dt.datetime.combine(self.expiry, EXPIRY_TIME_UTC, tzinfo=dt.UTC)


def parse_option_name(name: str) -> OptionName:
    """The parts of ``name``; ``ValueError`` with the reason when it is no option name."""
    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"not an option instrument name: {name!r:.80}")
    month = match["month"]
    if month not in MONTHS:
        raise ValueError(f"unknown month {month!r} in instrument name {name!r}")
    try:
        expiry = dt.date(2000 + int(match["year"]), MONTHS.index(month) + 1, int(match["day"]))
    except ValueError:
        raise ValueError(f"no such expiry date in instrument name {name!r}") from None
    strike = float(match["strike"].replace("d", "."))
    if not (strike > 0 and math.isfinite(strike)):
        raise ValueError(f"strike must be positive in instrument name {name!r}")
    side = OptionType.CALL if match["side"] == "C" else OptionType.PUT
    return OptionName(name, match["base"], match["quote"], expiry, strike, side)


def format_option_name(base: str, expiry: dt.date, strike: float, option_type: OptionType) -> str:
    """``BTC-5DEC26-95000-C``: the inverse option's name (day without a leading zero)."""
    text = str(int(strike)) if float(strike).is_integer() else repr(strike).replace(".", "d")
    side = "C" if option_type is OptionType.CALL else "P"
    return f"{base}-{expiry.day}{MONTHS[expiry.month - 1]}{expiry:%y}-{text}-{side}"
