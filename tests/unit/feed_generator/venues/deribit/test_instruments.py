"""Deribit option instrument names."""

from __future__ import annotations

import datetime as dt

import pytest

from common.messages import OptionType
from feed_generator.venues.deribit.instruments import format_option_name, parse_option_name


def test_parses_the_documented_template() -> None:
    option = parse_option_name("BTC-27DEC26-100000-C")
    assert option.base == "BTC"
    assert option.quote is None
    assert option.expiry == dt.date(2026, 12, 27)
    assert option.strike == 100000.0
    assert option.option_type is OptionType.CALL
    assert option.expiry_instant == dt.datetime(2026, 12, 27, 8, tzinfo=dt.UTC)


def test_one_digit_day_linear_quote_and_decimal_strike() -> None:
    assert parse_option_name("ETH-5AUG16-580-P").expiry == dt.date(2016, 8, 5)
    option = parse_option_name("XRP_USDC-30MAY25-2d2-C")
    assert (option.base, option.quote, option.strike) == ("XRP", "USDC", 2.2)


@pytest.mark.parametrize(
    "name",
    [
        "BTC-PERPETUAL",
        "BTC-27DEC26",
        "BTC-27XYZ26-100000-C",
        "BTC-31FEB26-100000-C",
        "BTC-27DEC26-0-C",
        "BTC-27DEC26-100000-X",
        "btc-27DEC26-100000-C",
        "BTC-27DEC26-100000-C\n",
        "BTC-27DEC26-１００-C",
        "",
    ],
)
def test_refuses_what_is_no_option_name(name: str) -> None:
    with pytest.raises(ValueError, match="instrument name"):
        parse_option_name(name)


def test_format_round_trips() -> None:
    name = format_option_name("BTC", dt.date(2026, 12, 5), 95000.0, OptionType.PUT)
    assert name == "BTC-5DEC26-95000-P"
    assert parse_option_name(name).strike == 95000.0
