"""Money: floats enter through their shortest repr, amounts round once (half to even, margin
up), and what is out of bounds or not a number is refused naming the field."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from paper.money import (
    MAX_QUANTITY,
    amount,
    amount_up,
    check_price,
    check_quantity,
    decimal_from,
    notional,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"), (102.35, "102.35"), (1e-07, "1E-7"), (3, "3"), ("24000.50", "24000.50"),
        (Decimal("2.5"), "2.5"), (0.1 + 0.2, "0.30000000000000004"),
    ],
)  # fmt: skip
def test_numbers_become_exact_decimals(value: object, expected: str) -> None:
    assert decimal_from(value, "price") == Decimal(expected)
    assert str(decimal_from(value, "price")) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "price: expected a number, got bool"),
        (None, "price: expected a number, got NoneType"),
        ("ten", "price: expected a number, got 'ten'"),
        (math.nan, "price: must be a finite number"),
        (math.inf, "price: must be a finite number"),
        ("-Infinity", "price: must be a finite number"),
        (Decimal("NaN"), "price: must be a finite number"),
    ],
)
def test_what_is_no_finite_number_is_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decimal_from(value, "price")


def test_amounts_round_half_to_even_and_margin_rounds_up() -> None:
    assert amount(Decimal("10.005")) == Decimal("10.00")  # half to the even paisa
    assert amount(Decimal("10.015")) == Decimal("10.02")
    assert amount(Decimal("-10.015")) == Decimal("-10.02")
    assert amount(Decimal("4.51875")) == Decimal("4.52")
    assert amount_up(Decimal("0.002")) == Decimal("0.01")
    assert amount_up(Decimal("235875")) == Decimal("235875.00")
    assert str(amount(Decimal(7))) == "7.00"


def test_notional_is_the_product_rounded_once() -> None:
    assert notional(Decimal(75), Decimal("120.5")) == Decimal("9037.50")
    assert notional(Decimal(3), Decimal("3.335")) == Decimal("10.00")  # 10.005
    assert notional(Decimal(3), Decimal("3.345")) == Decimal("10.04")  # 10.035
    # the largest order at the largest price, each with 8 places: nothing lost on the way
    big = Decimal("999999999.99999999")
    assert notional(big, big) == Decimal("999999999999999980.00")


def test_quantities_are_positive_bounded_and_of_at_most_8_places() -> None:
    assert check_quantity(Decimal("0.00000001"), "quantity") == Decimal("0.00000001")
    assert check_quantity(Decimal("75.000000000"), "quantity") == 75  # trailing zeros are fine
    assert check_quantity(MAX_QUANTITY, "quantity") == MAX_QUANTITY
    for bad, message in (
        (Decimal(0), "must be above 0"), (Decimal(-1), "must be above 0"),
        (MAX_QUANTITY + 1, "must be above 0 and at most 1000000000, got 1000000001"),
        (Decimal("NaN"), "must be above 0"),
        (Decimal("0.000000001"), "at most 8 decimal places"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=f"quantity: {message}"):
            check_quantity(bad, "quantity")


def test_prices_are_positive_unless_zero_is_allowed() -> None:
    assert check_price(Decimal("0.05"), "limit_price") == Decimal("0.05")
    assert check_price(Decimal(0), "price", positive=False) == 0
    with pytest.raises(ValueError, match="limit_price: must be above 0"):
        check_price(Decimal(0), "limit_price")
    with pytest.raises(ValueError, match="price: must be at least 0"):
        check_price(Decimal(-1), "price", positive=False)
    with pytest.raises(ValueError, match="strike: at most 8 decimal places"):
        check_price(Decimal("1.123456789"), "strike")
    with pytest.raises(ValueError, match="price: must be above 0 and at most 1000000000"):
        check_price(Decimal("1e10"), "price")
