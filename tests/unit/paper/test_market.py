"""An instrument's quote in an enriched chain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from common.messages.enums import OptionType
from paper.documents import Instrument
from paper.market import chain_quote

CHAIN: dict[str, Any] = {
    "product": "BTC", "expiry": "2026-12-25", "timestamp": "2026-12-06T09:00:00.000Z",
    "spot_price": 97_012.345678912, "strikes": [95_000.0, 100_000.0],
    "calls": [{"bid": 3_101.2345678912, "ask": 3_150.5}, {"bid": 0.0, "ask": 900.25}],
    "puts": [{"bid": 1_050.0, "ask": 1_075.0}, {"bid": 3_990.0, "ask": None}],
}  # fmt: skip


def _option(strike: str, side: OptionType, expiry: str = "2026-12-25") -> Instrument:
    return Instrument(product="BTC", expiry=expiry, strike=Decimal(strike), option_type=side)


def test_an_options_quote_is_its_row_rounded_to_eight_places() -> None:
    quote = chain_quote(CHAIN, _option("95000", OptionType.CALL))
    assert quote is not None
    assert (quote.bid, quote.ask) == (Decimal("3101.23456789"), Decimal("3150.5"))
    assert quote.underlying == Decimal("97012.34567891")
    assert quote.timestamp == CHAIN["timestamp"]


def test_a_missing_side_is_no_quote_on_that_side() -> None:
    call = chain_quote(CHAIN, _option("100000", OptionType.CALL))
    put = chain_quote(CHAIN, _option("100000.0", OptionType.PUT))
    assert call is not None
    assert put is not None
    assert (call.bid, call.ask) == (None, Decimal("900.25"))
    assert (put.bid, put.ask) == (Decimal("3990.0"), None)


@pytest.mark.parametrize(
    "instrument",
    [
        _option("97500", OptionType.CALL),  # not listed
        _option("95000", OptionType.PUT, expiry="2027-01-29"),  # another expiry
        Instrument(
            product="ETH", expiry="2026-12-25", strike=Decimal("95000"), option_type=OptionType.CALL
        ),
        Instrument(product="BTC", expiry="2026-12-25"),  # a future: not in the chains
    ],
)
def test_what_the_chain_does_not_quote(instrument: Instrument) -> None:
    assert chain_quote(CHAIN, instrument) is None


def test_the_underlying_is_quoted_at_spot() -> None:
    quote = chain_quote(CHAIN, Instrument(product="BTC"))
    assert quote is not None
    assert quote.bid == quote.ask == quote.underlying == Decimal("97012.34567891")
