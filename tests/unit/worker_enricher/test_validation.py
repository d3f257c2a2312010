"""``validate``: decoded once into the channel's struct, handed on as the dict the math takes."""

from __future__ import annotations

import orjson
import pytest

from common.names import Channel
from tests.support.chains import build_chain
from worker_enricher.validation import MessageError, validate, validate_all

TICK = {
    "type": "underlying", "product": "NIFTY", "price": 24012.5, "volume": 1200,
    "timestamp": "2026-11-21T04:00:00.125Z", "seq": 0,
}  # fmt: skip


def test_valid_messages_come_back_as_sent() -> None:
    chain = build_chain(21)
    assert validate(Channel.MARKET_OPTION_CHAIN, orjson.dumps(chain)) == chain
    assert validate(Channel.MARKET_UNDERLYING, orjson.dumps(TICK).decode()) == TICK


def test_the_dict_has_the_wire_order_and_types() -> None:
    # Keys in another order, an int where the contract says float: canonical out.
    shuffled = dict(reversed(list(TICK.items())), price=24012)
    message = validate(Channel.MARKET_UNDERLYING, orjson.dumps(shuffled))
    assert list(message) == list(TICK)
    assert message["price"] == 24012.0
    assert type(message["price"]) is float
    chain = validate(Channel.MARKET_OPTION_CHAIN, orjson.dumps(build_chain(3)))
    assert type(chain["calls"][0]) is dict
    assert list(chain["calls"][0]) == ["strike", "bid", "ask", "last", "volume", "oi"]


def test_optional_fields_pass_only_when_sent() -> None:
    quote = {
        "symbol": "NIFTY261126C24000", "product": "NIFTY", "expiry": "2026-11-26",
        "strike": 24000.0, "option_type": "CALL", "bid": 120.05, "ask": 120.4, "last": 120.2,
        "volume": 5000, "oi": 120000, "timestamp": "2026-11-21T04:00:00.125Z", "seq": 17,
    }  # fmt: skip
    assert validate(Channel.MARKET_OPTION_QUOTE, orjson.dumps(quote)) == quote
    venue = dict(quote, venue="deribit", mark_iv=0.14, forward_source="venue")
    assert validate(Channel.MARKET_OPTION_QUOTE, orjson.dumps(venue)) == venue


def test_numeric_strings_are_refused() -> None:
    # marshmallow once turned "24012.5" into 24012.5; the contract says number.
    with pytest.raises(MessageError, match=r"^invalid message: Expected `float`, got `str`"):
        validate(Channel.MARKET_UNDERLYING, orjson.dumps(dict(TICK, price="24012.5")))


def test_invalid_messages_name_the_field() -> None:
    with pytest.raises(MessageError) as info:
        validate(Channel.MARKET_UNDERLYING, orjson.dumps(dict(TICK, price=0.0)))
    assert str(info.value) == "invalid message: Expected `float` > 0.0 - at `$.price`"
    chain = build_chain(5)
    chain["calls"][3]["bid"] = -1.0
    with pytest.raises(MessageError) as info:
        validate(Channel.MARKET_OPTION_CHAIN, orjson.dumps(chain))
    assert str(info.value) == "invalid message: Expected `float` >= 0.0 - at `$.calls[3].bid`"
    with pytest.raises(MessageError, match=r"^not JSON"):
        validate(Channel.MARKET_UNDERLYING, b"{")


def test_enriched_channels_have_their_own_contract() -> None:
    with pytest.raises(MessageError, match="missing required field `ohlc_1min`"):
        validate(Channel.ENRICHED_UNDERLYING, orjson.dumps(TICK))


def test_validate_all_splits_valid_and_invalid() -> None:
    raws = [orjson.dumps(TICK), orjson.dumps(dict(TICK, seq=-1)), orjson.dumps(dict(TICK, seq=1))]
    good, bad = validate_all(Channel.MARKET_UNDERLYING, raws)
    assert [m["seq"] for m, _ in good] == [0, 1]
    assert [raw for _, raw in good] == [raws[0], raws[2]]
    assert bad == [(raws[1], "invalid message: Expected `int` >= 0 - at `$.seq`")]
