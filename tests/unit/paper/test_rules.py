"""The account's rules: the margin of short options by the stated rule (calls and puts, out of
and in the money), of the short underlying, fees, intrinsic value, and the rules' checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.settings import PaperSettings
from paper.rules import AccountRules, intrinsic
from tests.unit.paper.factories import RULES, call, dec, future, put


@pytest.mark.parametrize(
    ("instrument", "premium", "per_unit", "why"),
    [
        (call(24000), "120", "3145", "OTM call: 120 + 3525 − 500 beats 120 + 2350"),
        (call(23000), "600", "4125", "ITM call: 600 + 3525 − 0 beats 600 + 2350"),
        (put(23000), "80", "3105", "OTM put: 80 + 3525 − 500 beats 80 + 2350"),
        (put(24000), "560", "4085", "ITM put: 560 + 3525 − 0"),
        (put(20000), "5", "2355", "far OTM put: the floor 5 + 2350 beats 5 + 3525 − 3500 = 30"),
        (call(27000), "1.5", "2351.5", "far OTM call: the floor 1.5 + 2350 (3525 − 3500 + 1.5)"),
        (future(), "23500", "4700", "a future: 20 % of 23500"),
    ],
)
def test_margin_per_unit_short_by_the_stated_rule(
    instrument: object, premium: str, per_unit: str, why: str
) -> None:
    got = RULES.margin_per_unit(instrument, dec(premium), dec(23500))  # type: ignore[arg-type]
    assert got == dec(per_unit), why


def test_a_positions_margin_is_per_unit_short_rounded_up() -> None:
    assert RULES.margin(call(24000), dec(-75), dec(120), dec(23500)) == dec("235875.00")
    assert RULES.margin(put(23000), dec("-0.5"), dec(80), dec(23500)) == dec("1552.50")
    assert RULES.margin(future(), dec(-2), dec(23500), dec(23500)) == dec("9400.00")
    assert RULES.margin(future(), dec(-1), dec("0.01"), dec("0.01")) == dec("0.01")  # 0.002 up
    assert str(RULES.margin(call(24000), dec(75), dec(120), dec(23500))) == "0.00"  # long: none
    assert RULES.margin(call(24000), dec(0), dec(120), dec(23500)) == 0


def test_configured_rates_change_the_margin() -> None:
    wide = AccountRules(margin_rate=dec("0.25"), margin_floor_rate=dec("0.05"),
                        underlying_margin_rate=dec("0.5"))  # fmt: skip
    assert wide.margin_per_unit(call(21000), dec(120), dec(20000)) == dec("4120")  # 120+5000−1000
    assert wide.margin_per_unit(call(40000), dec(1), dec(20000)) == dec("1001")  # floor 1 + 1000
    assert wide.margin_per_unit(future(), dec(20000), dec(20000)) == dec("10000")


def test_fees_per_unit_and_as_a_fraction_of_premium() -> None:
    both = AccountRules(fee_per_unit={"INR": dec("0.01")}, fee_rate=dec("0.0005"))
    assert both.fee("INR", dec(75), dec("9037.50")) == dec("5.27")  # 0.75 + 4.51875
    assert both.fee("USD", dec(1), dec("500.00")) == dec("0.25")  # no per-unit fee in USD
    assert RULES.fee("INR", dec(75), dec("9037.50")) == 0
    assert str(RULES.fee("INR", dec(75), dec("9037.50"))) == "0.00"


def test_starting_cash_per_currency() -> None:
    assert RULES.starting_cash("INR") == dec("1000000.00")
    assert RULES.starting_cash("USD") == dec("100000")
    assert RULES.starting_cash("EUR") == 0


@pytest.mark.parametrize(
    ("instrument", "settlement", "value"),
    [
        (call(24000), "24100", "100"), (call(24000), "23900", "0"), (call(24000), "24000", "0"),
        (put(23000), "22500", "500"), (put(23000), "23100", "0"), (future(), "24100", "24100"),
    ],
)  # fmt: skip
def test_intrinsic_value_at_expiry(instrument: object, settlement: str, value: str) -> None:
    assert intrinsic(instrument, dec(settlement)) == dec(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"fee_rate": dec("1.5")}, "fee_rate must be a Decimal in"),
        ({"margin_rate": dec(-1)}, "margin_rate must be a Decimal in"),
        ({"underlying_margin_rate": 0.2}, "underlying_margin_rate must be a Decimal in"),
        ({"margin_floor_rate": Decimal("NaN")}, "margin_floor_rate must be a Decimal in"),
        ({"start_cash": {"INR": dec(-5)}}, r"start_cash\[INR\] must be a Decimal ≥ 0"),
        ({"fee_per_unit": {"USD": 0.1}}, r"fee_per_unit\[USD\] must be a Decimal ≥ 0"),
    ],
)
def test_rules_out_of_range_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AccountRules(**fields)  # type: ignore[arg-type]


def test_rules_from_settings() -> None:
    settings = PaperSettings(
        start_cash={"INR": dec(500)}, fee_per_unit={"INR": dec("0.05")}, fee_rate=dec("0.001"),
        margin_rate=dec("0.2"), margin_floor_rate=dec("0.12"), underlying_margin_rate=dec("0.3"),
    )  # fmt: skip
    rules = AccountRules.from_settings(settings)
    assert (rules.fee_rate, rules.margin_rate, rules.margin_floor_rate) == (
        dec("0.001"), dec("0.2"), dec("0.12"),
    )  # fmt: skip
    assert rules.underlying_margin_rate == dec("0.3")
    assert (dict(rules.start_cash), dict(rules.fee_per_unit)) == (
        {"INR": dec(500)}, {"INR": dec("0.05")},
    )  # fmt: skip
    defaults = AccountRules.from_settings(PaperSettings())
    assert dict(defaults.start_cash) == {"INR": dec(10_000_000), "USD": dec(100_000)}
    assert (defaults.fee_rate, dict(defaults.fee_per_unit)) == (dec("0.0005"), {})
