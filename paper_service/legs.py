"""Legs as the REST bodies give them, turned into the strategy math's :class:`Leg`.

No I/O and no Flask. A body leg (validated by ``common.api.strategies.LegSchema``) becomes
a :class:`LegSpec`; one strategy's legs name one product the platform serves; a leg
without a price is priced at the live chain's quote (the mid, else the last price) of its
row, the underlying at the live spot. Faults raise
:class:`~optionsmath.strategy.StrategyInputError` naming the field (``legs[2].price``), as
the math does, for a 422.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.messages.enums import OptionType
from common.timestamps import parse_expiry
from optionsmath.strategy import Leg, Side, Smile, StrategyInputError


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One leg as asked for: ``price`` ``None`` means the live price."""

    product: str
    expiry: dt.date | None
    strike: float | None
    option_type: OptionType | None
    side: Side
    quantity: float
    price: float | None

    @classmethod
    def of(cls, leg: Mapping[str, Any]) -> LegSpec:
        """The spec of a validated body leg."""
        expiry, kind = leg.get("expiry"), leg.get("option_type")
        strike, price = leg.get("strike"), leg.get("price")
        return cls(
            product=leg["product"],
            expiry=None if expiry is None else parse_expiry(expiry),
            strike=None if strike is None else float(strike),
            option_type=None if kind is None else OptionType(kind),
            side=Side(leg["side"]),
            quantity=float(leg["quantity"]),
            price=None if price is None else float(price),
        )

    def document(self, price: float | None = None) -> dict[str, Any]:
        """The leg as answered and stored, every member present; ``price`` replaces a
        missing one (the price used)."""
        return {
            "product": self.product,
            "expiry": None if self.expiry is None else self.expiry.isoformat(),
            "strike": self.strike,
            "option_type": None if self.option_type is None else self.option_type.value,
            "side": self.side.value,
            "quantity": self.quantity,
            "price": self.price if price is None else price,
        }


def leg_specs(legs: Sequence[Mapping[str, Any]]) -> list[LegSpec]:
    return [LegSpec.of(leg) for leg in legs]


def strategy_product(specs: Sequence[LegSpec], products: Collection[str]) -> str:
    """The one product of ``specs``, which the platform must serve; else
    :class:`StrategyInputError` naming ``legs[i].product``."""
    if not specs:
        raise StrategyInputError("legs", "at least one leg")
    product = specs[0].product
    for i, spec in enumerate(specs):
        if spec.product != product:
            raise StrategyInputError(
                f"legs[{i}].product", f"every leg is of one product ({product}), not {spec.product}"
            )
    if product not in products:
        served = ", ".join(sorted(products))
        raise StrategyInputError("legs[0].product", f"not a product the platform serves ({served})")
    return product


def named_expiries(specs: Sequence[LegSpec]) -> dict[dt.date, str]:
    """Each expiry the option legs name → the field of the first leg naming it."""
    fields: dict[dt.date, str] = {}
    for i, spec in enumerate(specs):
        if spec.option_type is not None and spec.expiry is not None:
            fields.setdefault(spec.expiry, f"legs[{i}].expiry")
    return fields


def priced_legs(
    specs: Sequence[LegSpec], smiles: Mapping[dt.date, Smile], spot: float
) -> list[Leg]:
    """The math's legs: each price the one given, else the live one (an option's quote in
    its expiry's chain, the underlying's ``spot``)."""
    return [Leg(spec.expiry if spec.option_type is not None else None, spec.strike,
                spec.option_type, spec.side, spec.quantity, _price(i, spec, smiles, spot))
            for i, spec in enumerate(specs)]  # fmt: skip


def _price(i: int, spec: LegSpec, smiles: Mapping[dt.date, Smile], spot: float) -> float:
    if spec.price is not None:
        return spec.price
    if spec.option_type is None:
        return spot
    if spec.strike is None:
        raise StrategyInputError(f"legs[{i}].strike", "required for an option")
    smile = smiles.get(spec.expiry) if spec.expiry is not None else None
    if smile is None:
        raise StrategyInputError(f"legs[{i}].expiry", f"no chain for expiry {spec.expiry}")
    if smile.listed_strike(spec.strike) is None:
        raise StrategyInputError(
            f"legs[{i}].strike", f"{spec.strike!r} is not listed for {spec.expiry}"
        )
    price = smile.price(spec.strike, spec.option_type)
    if price is None:
        raise StrategyInputError(
            f"legs[{i}].price",
            f"the {spec.expiry} {spec.strike:g} {spec.option_type.value} has no live price "
            "(no two-sided quote, no last): give one",
        )
    return price
