"""Legs from the REST bodies to the math (paper_service/legs.py), saved strategy documents
(documents.py) and the templates' choice of expiries (templates.py): pure functions."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest

from common.messages.enums import OptionType
from optionsmath.strategy import Leg, Side, Smile, StrategyInputError
from paper_service.documents import (
    new_strategy,
    new_strategy_id,
    replaced_strategy,
    strategy_content,
)
from paper_service.legs import LegSpec, leg_specs, named_expiries, priced_legs, strategy_product
from paper_service.templates import far_expiry, near_candidates, renamed

D1, D2 = dt.date(2026, 11, 26), dt.date(2026, 12, 3)
AS_OF = dt.datetime(2026, 11, 21, 4, tzinfo=dt.UTC)
PRODUCTS = frozenset({"NIFTY", "BTC"})


def _leg(strike: float | None = 110.0, kind: str | None = "CALL", **fields: object) -> dict:
    leg = {"product": "NIFTY", "expiry": None if kind is None else "2026-11-26",
           "strike": strike if kind is not None else None, "option_type": kind, "side": "BUY",
           "quantity": 75.0, "price": None}  # fmt: skip
    return {**leg, **fields}


def _smile() -> Smile:
    """Strikes 100, 110, 120: calls quoted 12, 5 and none; puts 1, 3.5, 9."""
    listed = np.array([100.0, 110.0, 120.0])
    return Smile(D1, AS_OF, 0.02, 108.0, 0.0, 0.0, listed, np.array([0.3, 0.25, 0.28]), listed,
                 np.array([12.0, 5.0, math.nan]), np.array([1.0, 3.5, 9.0]))  # fmt: skip


def test_a_body_leg_and_its_document() -> None:
    spec = LegSpec.of(_leg(price=4.75, side="SELL"))
    assert spec == LegSpec("NIFTY", D1, 110.0, OptionType.CALL, Side.SELL, 75.0, 4.75)
    assert spec.document() == _leg(price=4.75, side="SELL")
    underlying = LegSpec.of(_leg(kind=None))
    assert underlying == LegSpec("NIFTY", None, None, None, Side.BUY, 75.0, None)
    assert underlying.document(price=108.0) == {**_leg(kind=None), "price": 108.0}


def test_one_served_product() -> None:
    assert strategy_product(leg_specs([_leg(), _leg(kind=None)]), PRODUCTS) == "NIFTY"
    with pytest.raises(StrategyInputError, match=r"legs\[2\]\.product: every leg is of one"):
        strategy_product(leg_specs([_leg(), _leg(), _leg(product="BTC")]), PRODUCTS)
    with pytest.raises(StrategyInputError) as info:
        strategy_product(leg_specs([_leg(product="SENSEX")]), PRODUCTS)
    assert info.value.field == "legs[0].product"
    assert str(info.value) == "legs[0].product: not a product the platform serves (BTC, NIFTY)"
    with pytest.raises(StrategyInputError, match="legs: at least one leg"):
        strategy_product([], PRODUCTS)


def test_named_expiries_name_the_first_leg_of_each() -> None:
    specs = leg_specs([_leg(kind=None), _leg(expiry="2026-12-03"), _leg(), _leg(strike=100.0)])
    assert named_expiries(specs) == {D2: "legs[1].expiry", D1: "legs[2].expiry"}
    assert list(named_expiries(specs)) == [D2, D1]  # the order the legs name them
    assert named_expiries(leg_specs([_leg(kind=None)])) == {}


def test_prices_left_out_are_the_live_ones() -> None:
    specs = leg_specs([
        _leg(100.0), _leg(120.0, "PUT", side="SELL"), _leg(kind=None), _leg(110.0, price=0.0),
        _leg(120.0, price=2.0),
    ])  # fmt: skip
    legs = priced_legs(specs, {D1: _smile()}, 108.0)
    assert legs == [
        Leg(D1, 100.0, OptionType.CALL, Side.BUY, 75.0, 12.0),  # the quote
        Leg(D1, 120.0, OptionType.PUT, Side.SELL, 75.0, 9.0),
        Leg(None, None, None, Side.BUY, 75.0, 108.0),  # the underlying at spot
        Leg(D1, 110.0, OptionType.CALL, Side.BUY, 75.0, 0.0),  # given: kept, even 0
        Leg(D1, 120.0, OptionType.CALL, Side.BUY, 75.0, 2.0),  # given where none is quoted
    ]


@pytest.mark.parametrize(
    ("leg", "field", "message"),
    [
        (_leg(120.0), "legs[1].price", "the 2026-11-26 120 CALL has no live price (no two-sided"),
        (_leg(115.0), "legs[1].strike", "115.0 is not listed for 2026-11-26"),
        (_leg(expiry="2026-12-03"), "legs[1].expiry", "no chain for expiry 2026-12-03"),
    ],
)
def test_a_live_price_that_cannot_be_found_names_the_leg(
    leg: dict, field: str, message: str
) -> None:
    with pytest.raises(StrategyInputError) as info:
        priced_legs(leg_specs([_leg(), leg]), {D1: _smile()}, 108.0)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: {message}")


def test_a_new_strategy_document() -> None:
    body = {"name": "spread", "legs": [_leg(100.0), _leg(120.0, side="SELL", price=1.5)],
            "note": None}  # fmt: skip
    now = dt.datetime(2026, 12, 6, 9, 41, 0, 123_456, tzinfo=dt.UTC)
    content = strategy_content(body, PRODUCTS)
    doc = new_strategy(content, owner="u1", now=now, new_id=lambda: "st_x")
    assert doc == {
        "id": "st_x", "owner": "u1", "name": "spread",
        "legs": [_leg(100.0), _leg(120.0, side="SELL", price=1.5)], "note": None,
        "created_at": "2026-12-06T09:41:00.123Z", "updated_at": "2026-12-06T09:41:00.123Z",
    }  # fmt: skip
    assert re.fullmatch(r"st_[A-Za-z0-9_-]{22}", new_strategy_id())
    with pytest.raises(StrategyInputError, match=r"legs\[0\]\.product"):
        strategy_content({**body, "legs": [_leg(product="SENSEX")]}, PRODUCTS)


def test_a_replacement_keeps_id_owner_and_creation_and_moves_updated_at_on() -> None:
    stored = {"id": "st_x", "owner": "u1", "name": "a", "legs": [_leg()], "note": "n",
              "created_at": "2026-12-06T09:41:00.123Z",
              "updated_at": "2026-12-06T09:45:00.000Z"}  # fmt: skip
    body = strategy_content({"name": "b", "legs": [_leg(kind=None)], "note": None}, PRODUCTS)
    later = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
    assert replaced_strategy(stored, body, now=later) == {
        **stored, "name": "b", "legs": [_leg(kind=None)], "note": None,
        "updated_at": "2026-12-06T10:00:00.000Z",
    }  # fmt: skip
    earlier = dt.datetime(2026, 12, 6, 9, 44, tzinfo=dt.UTC)  # the clock went back
    replaced = replaced_strategy(stored, body, now=earlier)
    assert replaced["updated_at"] == "2026-12-06T09:45:00.001Z"


def test_the_templates_expiries() -> None:
    live = ["2026-11-19", "2026-11-26", "2026-12-03", "2026-12-31"]
    today = dt.date(2026, 11, 21)
    args = {"name": "calendar", "expiry": None, "far_expiry": None}
    assert near_candidates(args, live, today) == [D1, D2, dt.date(2026, 12, 31)]
    assert near_candidates({**args, "expiry": "2026-12-03"}, live, today) == [D2]
    assert far_expiry(args, live, D1) == D2
    assert far_expiry(args, live, dt.date(2026, 12, 31)) is None
    assert far_expiry({**args, "far_expiry": "2027-01-28"}, live, D1) == dt.date(2027, 1, 28)
    assert far_expiry({**args, "name": "straddle"}, live, D1) is None


def test_the_maths_template_fields_are_named_as_the_query_names_them() -> None:
    assert renamed(StrategyInputError("template", "no quote")).field == "name"
    far = renamed(StrategyInputError("far", "a calendar needs a later expiry's chain"))
    assert (far.field, str(far)) == ("far_expiry", "far_expiry: a calendar needs a later "
                                     "expiry's chain")  # fmt: skip
    width = StrategyInputError("width", "too wide")
    assert renamed(width) is width
