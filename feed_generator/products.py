"""The simulated products: Indian index and stock options with realistic levels and steps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from common.products import NSE_CONTRACT_SIZES
from feed_generator.book import ActivityParams
from feed_generator.expiries import ExpiryRule, Weekday
from feed_generator.process import ProcessParams
from feed_generator.quoting import SpreadParams
from feed_generator.smile import SmileParams


class ProductKind(StrEnum):
    INDEX = "index"
    STOCK = "stock"


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """Everything the market model needs to simulate one product."""

    name: str
    kind: ProductKind
    spot: float
    """Starting price of the underlying."""
    strike_step: float
    lot_size: int
    """Units of the underlying per contract (informational; volumes are in contracts): the
    product's ``contract_size`` in :mod:`common.products`."""
    expiries: ExpiryRule
    process: ProcessParams
    smile: SmileParams
    spreads: SpreadParams = field(default_factory=SpreadParams)
    activity: ActivityParams = field(default_factory=ActivityParams)
    underlying_volume: float = 1000.0
    """Units of the underlying traded per second on average."""

    def __post_init__(self) -> None:
        if not self.spot > 0.0 or not self.strike_step > 0.0:
            raise ValueError(f"{self.name}: spot and strike_step must be positive")


def _index_expiries(weekday: Weekday) -> ExpiryRule:
    return ExpiryRule(
        monthly_weekday=Weekday.TUESDAY, monthlies=2, weekly_weekday=weekday, weeklies=2
    )


_STOCK_EXPIRIES = ExpiryRule(monthly_weekday=Weekday.TUESDAY, monthlies=3)
_INDEX_SPREADS = SpreadParams(rel_spread=0.004, wing_spread=0.3)
_STOCK_SPREADS = SpreadParams(rel_spread=0.012, wing_spread=0.4)
_INDEX_ACTIVITY = ActivityParams(trades_per_second=4.0, lots_per_trade=8.0, peak_oi=120_000.0)
_STOCK_ACTIVITY = ActivityParams(trades_per_second=0.6, lots_per_trade=3.0, peak_oi=8_000.0)


def _index(
    name: str, spot: float, step: float, weekday: Weekday, vol: float, volume: float
) -> ProductSpec:
    return ProductSpec(
        name=name,
        kind=ProductKind.INDEX,
        spot=spot,
        strike_step=step,
        lot_size=NSE_CONTRACT_SIZES[name],
        expiries=_index_expiries(weekday),
        process=ProcessParams(long_run_vol=vol, leverage=-0.75, jump_intensity=5.0),
        smile=SmileParams(rho=-0.6, eta=1.2, vol_premium=1.08),
        spreads=_INDEX_SPREADS,
        activity=_INDEX_ACTIVITY,
        underlying_volume=volume,
    )


def _stock(name: str, spot: float, step: float, vol: float, volume: float) -> ProductSpec:
    return ProductSpec(
        name=name,
        kind=ProductKind.STOCK,
        spot=spot,
        strike_step=step,
        lot_size=NSE_CONTRACT_SIZES[name],
        expiries=_STOCK_EXPIRIES,
        # Stocks jump more often and both ways (results, news): a flatter mean, a wider size.
        process=ProcessParams(
            long_run_vol=vol, leverage=-0.5, jump_intensity=8.0, jump_mean=-0.005, jump_std=0.04
        ),
        smile=SmileParams(rho=-0.35, eta=1.0, vol_premium=1.05),
        spreads=_STOCK_SPREADS,
        activity=_STOCK_ACTIVITY,
        underlying_volume=volume,
    )


PRODUCTS: dict[str, ProductSpec] = {
    spec.name: spec
    for spec in (
        _index("NIFTY", 24_000.0, 50.0, Weekday.TUESDAY, 0.13, 3_000.0),
        _index("BANKNIFTY", 52_000.0, 100.0, Weekday.WEDNESDAY, 0.15, 1_500.0),
        _index("FINNIFTY", 23_500.0, 50.0, Weekday.TUESDAY, 0.14, 400.0),
        _index("MIDCPNIFTY", 12_500.0, 25.0, Weekday.MONDAY, 0.17, 600.0),
        _stock("RELIANCE", 2_900.0, 20.0, 0.22, 2_000.0),
        _stock("HDFCBANK", 1_700.0, 10.0, 0.19, 2_500.0),
        _stock("INFY", 1_850.0, 20.0, 0.24, 1_500.0),
        _stock("TCS", 4_100.0, 50.0, 0.21, 600.0),
    )
}
"""Every product the generator knows, by name."""


class UnknownProductError(ValueError):
    """A requested product is not in :data:`PRODUCTS`."""


def resolve_products(names: Iterable[str] | None = None) -> list[ProductSpec]:
    """Specs of ``names`` (case-insensitive, duplicates dropped); all products when ``None``."""
    if names is None:
        return list(PRODUCTS.values())
    specs: list[ProductSpec] = []
    for raw in names:
        name = raw.strip().upper()
        if not name:
            continue
        if name not in PRODUCTS:
            known = ", ".join(PRODUCTS)
            raise UnknownProductError(f"unknown product {raw.strip()!r} (known: {known})")
        if PRODUCTS[name] not in specs:
            specs.append(PRODUCTS[name])
    if not specs:
        raise UnknownProductError("no products selected")
    return specs
