"""Per-product market conventions: expiry instant, rate and yield, contract size, currency, venue.

A product carries its own conventions instead of two global settings. The
synthetic NSE products take the settings ``RISK_FREE_RATE``, ``DIVIDEND_YIELD``
and ``EXPIRY_TIME_UTC`` (their defaults are today's values); Deribit's BTC and
ETH options expire at 08:00 UTC, are priced at rate 0 on the venue's forward,
settle one coin per contract and are quoted in USD once normalised. A product
the registry does not know gets the defaults (the NSE conventions).

The forward: Deribit sends its own; the NSE products fed by a real venue (Kite) imply it
from put-call parity; the synthetic market's keep the carry, its exact forward (docs/MATH.md,
"Which products use which forward").
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from common.conventions import (
    DEFAULT_DIVIDEND_YIELD,
    DEFAULT_EXPIRY_TIME_UTC,
    DEFAULT_RISK_FREE_RATE,
)
from common.messages.enums import ForwardSource
from common.timestamps import SECONDS_PER_YEAR

if TYPE_CHECKING:
    from common.settings import Settings

DEFAULT_STALE_AFTER_S = 5.0
"""The NSE products' ``stale_after_s`` (the setting ``DATA_STALE_AFTER_S``): five missed chains
of the synthetic market, which sends one per (product, expiry) a second."""
SYNTHETIC_VENUE = "synthetic"
"""The venue of the synthetic market's products (and of a product the registry does not know)."""
_VENUE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
"""A venue's name, as the messages' ``venue`` field allows it."""


@dataclass(frozen=True, slots=True)
class ProductConventions:
    """How one product's options are priced and when they expire."""

    rate: float = DEFAULT_RISK_FREE_RATE
    """Continuously compounded discount rate per year (0.065 = 6.5 %)."""
    dividend_yield: float = DEFAULT_DIVIDEND_YIELD
    """Continuous yield per year of the underlying, used only for the carry forward."""
    expiry_time: dt.time = DEFAULT_EXPIRY_TIME_UTC
    """Time of day, in ``expiry_zone``, at which options expire on their expiry date."""
    expiry_zone: str = "UTC"
    """IANA zone of ``expiry_time`` (``UTC``, ``Asia/Kolkata``, …)."""
    contract_size: float = 1.0
    """Units of the underlying per contract (an NSE lot, one coin on Deribit)."""
    quote_currency: str = "INR"
    """Currency of the prices the pipeline sees for the product."""
    venue: str = SYNTHETIC_VENUE
    """The venue the product's data comes from (``synthetic``, ``deribit``): what a listing shows
    beside the product. The simulator of a venue (``deribit-sim``) serves the venue's products."""
    forward_method: ForwardSource = ForwardSource.CARRY
    """How the forward is found when the message carries none: ``carry`` (S·e^((r−q)T)) or
    ``parity`` (implied from the chain's quotes, falling back to carry)."""
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    """Age (seconds from the data's origin ``timestamp``) past which the newest chain or tick
    of the product is served marked stale (docs/API.md, "How old the data is")."""
    _zone: dt.tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and math.isfinite(self.dividend_yield)):
            raise ValueError("rate and dividend_yield must be finite")
        if not (math.isfinite(self.contract_size) and self.contract_size > 0.0):
            raise ValueError("contract_size must be positive")
        if not (math.isfinite(self.stale_after_s) and self.stale_after_s > 0.0):
            raise ValueError("stale_after_s must be positive")
        if not _VENUE_NAME.fullmatch(self.venue):
            raise ValueError(f"venue must match {_VENUE_NAME.pattern}, got {self.venue!r}")
        if self.forward_method is ForwardSource.VENUE:
            raise ValueError("forward_method is carry or parity: a venue's forward always wins")
        zone = dt.UTC if self.expiry_zone == "UTC" else ZoneInfo(self.expiry_zone)
        object.__setattr__(self, "_zone", zone)

    def expiry_instant(self, expiry: dt.date) -> dt.datetime:
        """The aware UTC instant at which options on ``expiry`` expire."""
        local = dt.datetime.combine(expiry, self.expiry_time, tzinfo=self._zone)
        return local.astimezone(dt.UTC)

    def years_to_expiry(
        self, moment: dt.datetime, expiry: dt.date, expiry_ts: dt.datetime | None = None
    ) -> float:
        """ACT/365 years from ``moment`` to the expiry: the venue's exact instant
        ``expiry_ts`` when given, else the expiry date at this product's expiry time."""
        instant = expiry_ts if expiry_ts is not None else self.expiry_instant(expiry)
        return (instant - moment).total_seconds() / SECONDS_PER_YEAR


NSE_CONTRACT_SIZES: Mapping[str, int] = MappingProxyType({
    "NIFTY": 75, "BANKNIFTY": 35, "FINNIFTY": 65, "MIDCPNIFTY": 140,
    "RELIANCE": 500, "HDFCBANK": 550, "INFY": 400, "TCS": 175,
})  # fmt: skip
"""Lot sizes of the synthetic NSE products (units of the underlying per contract)."""

OI_IN_UNITS = frozenset({"kite"})
"""Venues of NSE products whose volume and OI are in units of the underlying (Kite's), not in
contracts (the synthetic market's): their products' ``contract_size`` is 1."""

PARITY_VENUES = frozenset({"kite"})
"""Venues of NSE products that are real markets: they send no forward, and their options'
quotes, not a model, say where it is, so it is implied from put-call parity (carry when the
quotes cannot give it). The synthetic market prices on spot carried at ``r`` and ``q``: carry
is its exact forward, and its products keep it."""

DERIBIT = ProductConventions(
    rate=0.0,
    dividend_yield=0.0,
    expiry_time=dt.time(8, 0),
    expiry_zone="UTC",
    contract_size=1.0,
    quote_currency="USD",
    venue="deribit",
    forward_method=ForwardSource.PARITY,
    stale_after_s=10.0,
)
"""Deribit's coin options: 08:00 UTC expiry, rate 0 (the venue's own convention), one coin
per contract, USD after normalisation; the forward is the venue's ``underlying_price``.
Stale after 10 s: the venue ticks every 100 ms and the connector builds chains every second,
but a quiet instrument or a reconnect (backoff up to seconds) leaves gaps longer than the
synthetic market's."""
DERIBIT_PRODUCTS = ("BTC", "ETH")


@dataclass(frozen=True, slots=True)
class ConventionsRegistry:
    """Each product's conventions; :meth:`get` gives ``default`` for an unknown product."""

    default: ProductConventions = field(default_factory=ProductConventions)
    products: Mapping[str, ProductConventions] = field(default_factory=dict)

    def get(self, product: str) -> ProductConventions:
        return self.products.get(product, self.default)

    @classmethod
    def standard(
        cls,
        *,
        rate: float = DEFAULT_RISK_FREE_RATE,
        dividend_yield: float = DEFAULT_DIVIDEND_YIELD,
        expiry_time_utc: dt.time = DEFAULT_EXPIRY_TIME_UTC,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        nse_venue: str = SYNTHETIC_VENUE,
    ) -> ConventionsRegistry:
        """The registry OptionsFlow runs with: NSE products (and unknown ones) at the given
        rate, yield, UTC expiry time and staleness limit (the settings), from ``nse_venue``
        (``kite`` when Kite feeds them, :func:`nse_venue`), BTC and ETH at Deribit's. The NSE
        products' forward is by parity from a venue of :data:`PARITY_VENUES`, else carry."""
        nse = ProductConventions(
            rate=rate,
            dividend_yield=dividend_yield,
            expiry_time=expiry_time_utc,
            stale_after_s=stale_after_s,
            venue=nse_venue,
            forward_method=(
                ForwardSource.PARITY if nse_venue in PARITY_VENUES else ForwardSource.CARRY
            ),
        )
        # Kite counts volume and OI in units of the underlying, not lots: a contract of 1 unit
        # keeps Γ·OI·contract size (the gamma exposure) in units either way.
        in_units = nse_venue in OI_IN_UNITS
        products: dict[str, ProductConventions] = {
            name: replace(nse, contract_size=1.0 if in_units else float(size))
            for name, size in NSE_CONTRACT_SIZES.items()
        }
        products.update(dict.fromkeys(DERIBIT_PRODUCTS, DERIBIT))
        return cls(default=nse, products=MappingProxyType(products))


@functools.cache
def standard_registry(
    rate: float,
    dividend_yield: float,
    expiry_time_utc: dt.time,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    nse_venue: str = SYNTHETIC_VENUE,
) -> ConventionsRegistry:
    """:meth:`ConventionsRegistry.standard` for these settings, built once per process (the
    worker asks per batch, analytics per request)."""
    return ConventionsRegistry.standard(
        rate=rate,
        dividend_yield=dividend_yield,
        expiry_time_utc=expiry_time_utc,
        stale_after_s=stale_after_s,
        nse_venue=nse_venue,
    )


def nse_venue(settings: Settings) -> str:
    """``kite`` when ``FEED_VENUES`` runs Kite (``kite`` or ``kite-sim``: the simulator serves
    the venue's products), else the synthetic market: the venue the NSE products show."""
    return "kite" if {"kite", "kite-sim"} & set(settings.venues.venues) else SYNTHETIC_VENUE


def serving_registry(settings: Settings) -> ConventionsRegistry:
    """The registry of the processes that serve the newest data (its staleness limits from
    ``DATA_STALE_AFTER_S``)."""
    return standard_registry(
        settings.risk_free_rate,
        settings.dividend_yield,
        settings.expiry_time_utc,
        settings.data_stale_after_s,
        nse_venue(settings),
    )
