"""Strategy templates built around the ATM strike of a live chain, on its listed strikes.

``width`` counts listed strikes (1: the next strike), the ATM strike is the listed
strike nearest the forward, and every leg's price is the chain's quote price (mid, else
last). Each template is its usual trade; ``reverse`` turns every side over (a short
straddle, a long iron condor):

- ``straddle``: buy the ATM call and put;
- ``strangle``: buy the put ``width`` strikes below ATM and the call ``width`` above;
- ``bull_call_spread``: buy the ATM call, sell the call ``width`` above;
- ``bear_call_spread``: sell the ATM call, buy the call ``width`` above;
- ``bull_put_spread``: sell the ATM put, buy the put ``width`` below;
- ``bear_put_spread``: buy the ATM put, sell the put ``width`` below;
- ``iron_condor``: sell the put ``width`` below ATM and the call ``width`` above, buy the
  put ``2·width`` below and the call ``2·width`` above;
- ``butterfly``: buy ``option_type`` at ATM − ``width`` and ATM + ``width``, sell twice
  the quantity at ATM;
- ``calendar``: sell ``option_type`` of the near expiry at its ATM strike, buy the same
  strike of the ``far`` expiry.
"""

from __future__ import annotations

from enum import StrEnum

from common.messages.enums import OptionType
from optionsmath.strategy.legs import Leg, Side, StrategyInputError
from optionsmath.strategy.smile import Smile

CALL, PUT = OptionType.CALL, OptionType.PUT
BUY, SELL = Side.BUY, Side.SELL


class Template(StrEnum):
    """The strategies :func:`template_legs` builds (the module docstring says how)."""

    STRADDLE = "straddle"
    STRANGLE = "strangle"
    BULL_CALL_SPREAD = "bull_call_spread"
    BEAR_CALL_SPREAD = "bear_call_spread"
    BULL_PUT_SPREAD = "bull_put_spread"
    BEAR_PUT_SPREAD = "bear_put_spread"
    IRON_CONDOR = "iron_condor"
    BUTTERFLY = "butterfly"
    CALENDAR = "calendar"


Shape = tuple[tuple[Side, OptionType, int, float], ...]
"""Legs of a one-expiry template: side, type, offset from ATM in strikes (× width),
quantity multiple."""

SHAPES: dict[Template, Shape] = {
    Template.STRADDLE: ((BUY, CALL, 0, 1.0), (BUY, PUT, 0, 1.0)),
    Template.STRANGLE: ((BUY, PUT, -1, 1.0), (BUY, CALL, 1, 1.0)),
    Template.BULL_CALL_SPREAD: ((BUY, CALL, 0, 1.0), (SELL, CALL, 1, 1.0)),
    Template.BEAR_CALL_SPREAD: ((SELL, CALL, 0, 1.0), (BUY, CALL, 1, 1.0)),
    Template.BULL_PUT_SPREAD: ((BUY, PUT, -1, 1.0), (SELL, PUT, 0, 1.0)),
    Template.BEAR_PUT_SPREAD: ((SELL, PUT, -1, 1.0), (BUY, PUT, 0, 1.0)),
    Template.IRON_CONDOR: (
        (BUY, PUT, -2, 1.0),
        (SELL, PUT, -1, 1.0),
        (SELL, CALL, 1, 1.0),
        (BUY, CALL, 2, 1.0),
    ),
}


def template_legs(
    name: Template | str,
    near: Smile,
    quantity: float,
    *,
    far: Smile | None = None,
    width: int = 1,
    option_type: OptionType = OptionType.CALL,
    reverse: bool = False,
) -> list[Leg]:
    """The legs of template ``name`` on ``near``'s listed strikes (``far``: the second
    expiry of a calendar), ``quantity`` units of the underlying per leg (a butterfly's body
    twice that). :class:`StrategyInputError` names ``template``, ``quantity``, ``width`` or
    ``far`` when the chain cannot hold the template."""
    try:
        template = Template(name)
    except ValueError:
        raise StrategyInputError("template", f"unknown template {name!r}") from None
    if not (isinstance(quantity, int | float) and quantity > 0.0 and quantity < float("inf")):
        raise StrategyInputError("quantity", f"a positive number, got {quantity!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise StrategyInputError("width", f"a whole number of strikes ≥ 1, got {width!r}")
    if template is Template.CALENDAR:
        legs = _calendar(near, far, option_type)
    elif template is Template.BUTTERFLY:
        legs = _legs(near, ((BUY, option_type, -1, 1.0), (SELL, option_type, 0, 2.0),
                            (BUY, option_type, 1, 1.0)), width)  # fmt: skip
    else:
        legs = _legs(near, SHAPES[template], width)
    flip = {BUY: SELL, SELL: BUY}
    return [
        Leg(leg.expiry, leg.strike, leg.option_type, flip[leg.side] if reverse else leg.side,
            leg.quantity * quantity, leg.price)
        for leg in legs
    ]  # fmt: skip


def _legs(smile: Smile, shape: Shape, width: int) -> list[Leg]:
    """One leg per entry of ``shape`` (quantity the multiple), strikes counted from ATM."""
    atm = int(abs(smile.listed - smile.atm_strike()).argmin())
    legs = []
    for side, kind, offset, multiple in shape:
        at = atm + offset * width
        if not 0 <= at < smile.listed.size:
            raise StrategyInputError(
                "width", f"{width} strikes from ATM leave the {smile.expiry} chain's strikes"
            )
        strike = float(smile.listed[at])
        legs.append(Leg(smile.expiry, strike, kind, side, multiple, _price(smile, strike, kind)))
    return legs


def _calendar(near: Smile, far: Smile | None, kind: OptionType) -> list[Leg]:
    """Sell ``near``'s ATM strike, buy the same strike of ``far`` (a later expiry)."""
    if far is None or far.expires_at <= near.expires_at:
        raise StrategyInputError("far", "a calendar needs a later expiry's chain")
    strike = near.atm_strike()
    if far.listed_strike(strike) is None:
        raise StrategyInputError("far", f"{far.expiry} does not list the ATM strike {strike}")
    return [
        Leg(near.expiry, strike, kind, SELL, 1.0, _price(near, strike, kind)),
        Leg(far.expiry, strike, kind, BUY, 1.0, _price(far, strike, kind)),
    ]


def _price(smile: Smile, strike: float, kind: OptionType) -> float:
    price = smile.price(strike, kind)
    if price is None:
        raise StrategyInputError(
            "template", f"the {smile.expiry} {strike:g} {kind.value} has no quote price"
        )
    return price
