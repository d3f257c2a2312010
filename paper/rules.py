"""The account's rules: fees, the margin a position blocks, intrinsic value at expiry.

Margin, per unit short (``U`` the underlying price, ``K`` the strike, ``premium`` the
option's mark):

- a short option: ``max(premium + m·U − OTM, premium + f·U)`` with ``m`` the margin rate
  (15 %), ``f`` the floor rate (10 %) and OTM the out-of-the-money amount (a call's
  ``max(K − U, 0)``, a put's ``max(U − K, 0)``);
- a short underlying or future: ``u·U`` (20 %);
- a long position blocks nothing: it is paid in full.

A position's margin is ``|quantity|`` times that, rounded up to the minor unit. Fees are
``per_unit·quantity + rate·notional`` per fill, rounded half to even; zero is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from common.messages.enums import OptionType
from paper.documents import Instrument
from paper.money import NIL, ZERO, amount, amount_up, mul

if TYPE_CHECKING:
    from common.settings import PaperSettings

__all__ = ["AccountRules", "intrinsic"]

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class AccountRules:
    """Starting cash, fees and margin rates (the ``PAPER_*`` settings)."""

    start_cash: Mapping[str, Decimal] = field(default_factory=dict)
    """A new wallet's cash per currency; a currency not listed starts with none."""
    fee_per_unit: Mapping[str, Decimal] = field(default_factory=dict)
    """Fee per unit filled, per currency; not listed: none."""
    fee_rate: Decimal = ZERO
    """Fee as a fraction of a fill's notional."""
    margin_rate: Decimal = Decimal("0.15")
    margin_floor_rate: Decimal = Decimal("0.10")
    underlying_margin_rate: Decimal = Decimal("0.20")

    def __post_init__(self) -> None:
        for name in ("fee_rate", "margin_rate", "margin_floor_rate", "underlying_margin_rate"):
            value = getattr(self, name)
            if not (isinstance(value, Decimal) and value.is_finite() and ZERO <= value <= _ONE):
                raise ValueError(f"{name} must be a Decimal in [0, 1], got {value!r}")
        for name in ("start_cash", "fee_per_unit"):
            table: Mapping[str, Decimal] = getattr(self, name)
            for currency, value in table.items():
                if not (isinstance(value, Decimal) and value.is_finite() and value >= ZERO):
                    raise ValueError(f"{name}[{currency}] must be a Decimal ≥ 0, got {value!r}")
            object.__setattr__(self, name, MappingProxyType(dict(table)))

    @classmethod
    def from_settings(cls, settings: PaperSettings) -> AccountRules:
        """The rules the ``PAPER_*`` settings describe."""
        return cls(
            start_cash=settings.start_cash,
            fee_per_unit=settings.fee_per_unit,
            fee_rate=settings.fee_rate,
            margin_rate=settings.margin_rate,
            margin_floor_rate=settings.margin_floor_rate,
            underlying_margin_rate=settings.underlying_margin_rate,
        )

    def starting_cash(self, currency: str) -> Decimal:
        """The cash a new wallet in ``currency`` holds, in the minor unit."""
        return amount(self.start_cash.get(currency, ZERO))

    def fee(self, currency: str, quantity: Decimal, notional: Decimal) -> Decimal:
        """The fee of a fill of ``quantity`` units whose premium is ``notional`` (≥ 0)."""
        per_unit = self.fee_per_unit.get(currency, ZERO)
        return amount(mul(per_unit, quantity) + mul(self.fee_rate, notional))

    def margin_per_unit(
        self, instrument: Instrument, premium: Decimal, underlying: Decimal
    ) -> Decimal:
        """What one unit short of ``instrument`` blocks (unrounded; see the module doc)."""
        if instrument.option_type is None:
            return mul(self.underlying_margin_rate, underlying)
        strike = instrument.strike if instrument.strike is not None else ZERO
        if instrument.option_type is OptionType.CALL:
            out_of_the_money = max(strike - underlying, ZERO)
        else:
            out_of_the_money = max(underlying - strike, ZERO)
        return max(
            premium + mul(self.margin_rate, underlying) - out_of_the_money,
            premium + mul(self.margin_floor_rate, underlying),
        )

    def margin(
        self, instrument: Instrument, quantity: Decimal, premium: Decimal, underlying: Decimal
    ) -> Decimal:
        """What a position of signed ``quantity`` blocks: 0 unless short, else ``|quantity|``
        × :meth:`margin_per_unit`, rounded up to the minor unit."""
        if quantity >= ZERO:
            return NIL
        return amount_up(mul(-quantity, self.margin_per_unit(instrument, premium, underlying)))


def intrinsic(instrument: Instrument, settlement_price: Decimal) -> Decimal:
    """Value per unit at expiry: a call's ``max(S − K, 0)``, a put's ``max(K − S, 0)``, a
    future's ``S``."""
    if instrument.option_type is None:
        return settlement_price
    strike = instrument.strike if instrument.strike is not None else ZERO
    if instrument.option_type is OptionType.CALL:
        return max(settlement_price - strike, ZERO)
    return max(strike - settlement_price, ZERO)
