"""The typed channel messages: each rule of the contract, with the reason naming the field path.

Valid messages decode to structs equal to them and encode back to the same
bytes; every kind of bad field is refused with a reason that says where. Each
rule one mutation at a time: ``test_message_rules.py``; the hypothesis property
test against an independent oracle: ``test_messages_property.py``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import msgspec
import orjson
import pytest

from common.messages import (
    MESSAGE_TYPES,
    EnrichedChain,
    MessageError,
    OptionChain,
    OptionQuote,
    OptionType,
    UnderlyingTick,
    decode_message,
    encode_message,
)
from common.names import Channel
from feed_generator.market import Market
from feed_generator.products import resolve_products
from feed_generator.runner import encode
from optionsmath import enrich_chain
from tests.support.chains import build_chain
from tests.support.messages import QUOTE, TICK

TICK_CH = Channel.MARKET_UNDERLYING
QUOTE_CH = Channel.MARKET_OPTION_QUOTE
CHAIN_CH = Channel.MARKET_OPTION_CHAIN
CHAIN = orjson.loads(orjson.dumps(build_chain(5)))
"""A valid 5-strike chain as the worker receives it: decoded from JSON."""


def reason(channel: Channel, message: Any) -> str:
    """The dead-letter reason of ``message`` (a dict, sent as JSON, or raw bytes)."""
    raw = message if isinstance(message, bytes) else json.dumps(message).encode()  # big ints too
    with pytest.raises(MessageError) as info:
        decode_message(channel, raw)
    return str(info.value)


def accepted(channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
    """``message`` decoded as its channel's struct, back as builtins."""
    decoded: dict[str, Any] = msgspec.to_builtins(decode_message(channel, orjson.dumps(message)))
    return decoded


def test_every_channel_has_a_struct() -> None:
    assert set(MESSAGE_TYPES) == set(Channel)
    assert MESSAGE_TYPES[TICK_CH] is UnderlyingTick
    assert MESSAGE_TYPES[QUOTE_CH] is OptionQuote
    assert MESSAGE_TYPES[CHAIN_CH] is OptionChain
    assert MESSAGE_TYPES[Channel.ENRICHED_OPTION_CHAIN] is EnrichedChain


def test_valid_messages_decode_to_equal_structs_and_the_same_bytes() -> None:
    for channel, message in ((TICK_CH, TICK), (QUOTE_CH, QUOTE), (CHAIN_CH, CHAIN)):
        raw = orjson.dumps(message)
        decoded = decode_message(channel, raw)
        assert accepted(channel, message) == message
        assert encode_message(decoded) == raw
    quote = decode_message(QUOTE_CH, orjson.dumps(QUOTE))
    assert isinstance(quote, OptionQuote)
    assert (quote.option_type, quote.strike, quote.oi) == (OptionType.CALL, 24000.0, 120000)


@pytest.mark.parametrize(("seed", "strikes"), [(3, 21), (8, 101), (5, 1)])
def test_every_message_of_the_real_feed_round_trips_byte_for_byte(seed: int, strikes: int) -> None:
    start = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
    market = Market(seed, start, resolve_products(None), strikes=strikes)
    wire = encode(market.advance(1.5))  # the JSON bytes the worker receives
    assert {channel for _, channel, _ in wire} == {c.value for c in (TICK_CH, QUOTE_CH, CHAIN_CH)}
    for _, channel, data in wire:
        raw = data.encode() if isinstance(data, str) else data
        assert encode_message(decode_message(Channel(channel), raw)) == raw


def test_an_enriched_chain_round_trips_byte_for_byte() -> None:
    raw = orjson.dumps(enrich_chain(build_chain(21), build_chain(21, seq=6)))
    assert encode_message(decode_message(Channel.ENRICHED_OPTION_CHAIN, raw)) == raw


# --- the venue additions: optional, absent when not sent -----------------------------------

VENUE_FIELDS = {"venue": "deribit", "currency": "USD"}
FORWARD_FIELDS = {
    "expiry_ts": "2026-11-27T08:00:00.000Z",
    "forward": 24031.5,
    "forward_source": "parity",
}


def test_optional_venue_fields_decode_and_are_left_out_when_absent() -> None:
    row = dict(CHAIN["calls"][0], mark=120.5, mark_iv=0.142, bid_iv=0.139, ask_iv=0.146)
    chain = dict(CHAIN, calls=[row, *CHAIN["calls"][1:]], **VENUE_FIELDS, **FORWARD_FIELDS)
    decoded = decode_message(CHAIN_CH, orjson.dumps(chain))
    assert isinstance(decoded, OptionChain)
    assert (decoded.venue, decoded.forward, decoded.forward_source) == (
        "deribit",
        24031.5,
        "parity",
    )
    assert (decoded.calls[0].mark_iv, decoded.calls[0].bid_iv, decoded.calls[0].ask_iv) == (
        0.142, 0.139, 0.146,
    )  # fmt: skip
    assert decoded.calls[1].mark is None
    assert (decoded.calls[1].bid_iv, decoded.calls[1].ask_iv) == (None, None)
    assert encode_message(decoded) == orjson.dumps(chain)
    quote = dict(QUOTE, **VENUE_FIELDS, **FORWARD_FIELDS, mark=120.3, mark_iv=0.15)
    assert accepted(QUOTE_CH, quote) == quote
    sided = dict(quote, bid_iv=0.148, ask_iv=0.153)
    assert accepted(QUOTE_CH, sided) == sided
    assert encode_message(decode_message(QUOTE_CH, orjson.dumps(sided))) == orjson.dumps(sided)
    sources = [
        {"source": "binance", "price": 24012.0, "age_ms": 120, "state": "live"},
        {"source": "coinbase", "price": 24013.5, "age_ms": 9000, "state": "stale"},
    ]
    tick = dict(TICK, **VENUE_FIELDS, sources=sources)
    assert accepted(TICK_CH, tick) == tick


@pytest.mark.parametrize(
    ("channel", "base", "patch", "where"),
    [
        (TICK_CH, TICK, {"venue": "Deribit"}, "$.venue"),
        (TICK_CH, TICK, {"currency": "usd"}, "$.currency"),
        (TICK_CH, TICK, {"sources": [{"source": "x", "price": 1.0, "age_ms": -1,
                                      "state": "live"}]}, "$.sources[0].age_ms"),
        (TICK_CH, TICK, {"sources": [{"source": "x", "price": 1.0, "age_ms": 1,
                                      "state": "up"}]}, "$.sources[0].state"),
        (QUOTE_CH, QUOTE, {"forward": 0.0}, "$.forward"),
        (QUOTE_CH, QUOTE, {"forward_source": "guess"}, "$.forward_source"),
        (QUOTE_CH, QUOTE, {"expiry_ts": "2026-11-27"}, "$.expiry_ts"),
        (QUOTE_CH, QUOTE, {"expiry_ts": "2026-02-30T08:00:00.000Z"}, "$.expiry_ts"),
        (QUOTE_CH, QUOTE, {"mark_iv": -0.1}, "$.mark_iv"),
        (QUOTE_CH, QUOTE, {"bid_iv": -0.1}, "$.bid_iv"),
        (QUOTE_CH, QUOTE, {"ask_iv": -1e-9}, "$.ask_iv"),
        (QUOTE_CH, QUOTE, {"ask_iv": "0.15"}, "$.ask_iv"),
        (CHAIN_CH, CHAIN, {"puts": [dict(r, bid_iv=-0.5) for r in CHAIN["puts"]]},
         "$.puts[0].bid_iv"),
        (CHAIN_CH, CHAIN, {"calls": [dict(r, mark=-1.0) for r in CHAIN["calls"]]},
         "$.calls[0].mark"),
    ],
)  # fmt: skip
def test_bad_optional_fields_are_named(
    channel: Channel, base: dict[str, Any], patch: dict[str, Any], where: str
) -> None:
    assert reason(channel, dict(base, **patch)).endswith(f"- at `{where}`")


# --- reasons --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"price": -1.0}, "Expected `float` > 0.0 - at `$.price`"),
        ({"price": "24000"}, "Expected `float`, got `str` - at `$.price`"),
        ({"seq": 1.5}, "Expected `int`, got `float` - at `$.seq`"),
        ({"seq": True}, "Expected `int`, got `bool` - at `$.seq`"),
        ({"seq": -1}, "Expected `int` >= 0 - at `$.seq`"),
        ({"volume": "lots"}, "Expected `int`, got `str` - at `$.volume`"),
        ({"type": "tick"}, "Invalid enum value 'tick' - at `$.type`"),
        ({"extra": 1}, "Object contains unknown field `extra`"),
        ({"timestamp": "2026-02-30T04:00:00.125Z"},
         "Expected a real date and time, got '2026-02-30T04:00:00.125Z' - at `$.timestamp`"),
        ({"timestamp": "1969-12-31T23:59:59.999Z"},
         "Expected an instant from 1970, got '1969-12-31T23:59:59.999Z' - at `$.timestamp`"),
    ],
)  # fmt: skip
def test_bad_tick_fields_are_named(patch: dict[str, Any], expected: str) -> None:
    assert reason(TICK_CH, dict(TICK, **patch)) == f"invalid message: {expected}"


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"timestamp": "2026-11-21 04:00:00.000Z"}, "$.timestamp"),
        ({"timestamp": "2026-11-21T04:00:00Z"}, "$.timestamp"),
        ({"timestamp": "2026-11-21T04:00:00.000Z\n"}, "$.timestamp"),
        ({"product": "nifty"}, "$.product"),
        ({"product": "NIFTY\n"}, "$.product"),
    ],
)
def test_patterns_are_matched_in_full(patch: dict[str, Any], where: str) -> None:
    text = reason(TICK_CH, dict(TICK, **patch))
    assert text.startswith("invalid message: Expected `str` matching regex ")
    assert text.endswith(f"- at `{where}`")


def test_missing_fields_are_named() -> None:
    message = dict(QUOTE)
    del message["oi"]
    assert reason(QUOTE_CH, message) == "invalid message: Object missing required field `oi`"


@pytest.mark.parametrize(
    ("patch", "where"),
    [({"option_type": "C"}, "$.option_type"), ({"expiry": "26-11-2026"}, "$.expiry"),
     ({"bid": -0.05}, "$.bid"), ({"strike": 0}, "$.strike")],
)  # fmt: skip
def test_bad_quote_fields_are_named(patch: dict[str, Any], where: str) -> None:
    assert reason(QUOTE_CH, dict(QUOTE, **patch)).endswith(f"- at `{where}`")


def test_chain_rows_must_match_strikes() -> None:
    short = dict(CHAIN, puts=CHAIN["puts"][:-1])
    assert reason(CHAIN_CH, short) == (
        "invalid message: Expected 5 rows, one per strike, got 4 - at `$.puts`"
    )
    shifted = copy.deepcopy(CHAIN)
    shifted["calls"][0]["strike"] += 1
    assert reason(CHAIN_CH, shifted) == (
        "invalid message: Expected strike 23900.0 (strikes[0]), got 23901.0 "
        "- at `$.calls[0].strike`"
    )
    unsorted = dict(CHAIN, strikes=list(reversed(CHAIN["strikes"])))
    assert reason(CHAIN_CH, unsorted) == (
        "invalid message: Expected strikes strictly increasing, got 24050.0 after 24100.0 "
        "- at `$.strikes[1]`"
    )


def test_bad_row_is_located() -> None:
    chain = copy.deepcopy(CHAIN)
    chain["calls"][2]["oi"] = -3
    assert reason(CHAIN_CH, chain) == "invalid message: Expected `int` >= 0 - at `$.calls[2].oi`"
    chain["calls"][2]["oi"] = 3
    chain["puts"][3]["bid"] = -0.05
    assert reason(CHAIN_CH, chain).endswith("- at `$.puts[3].bid`")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{", "not JSON: Input data was truncated"),
        (b'{"price": NaN}', "not JSON: JSON is malformed: invalid character (byte 10)"),
        (b"\xff\xfe", "not JSON: JSON is malformed: invalid character (byte 0)"),
        (b"[]", "invalid message: Expected `object`, got `array`"),
        (b'"NIFTY"', "invalid message: Expected `object`, got `str`"),
    ],
)
def test_raw_that_is_no_object_is_refused(raw: bytes, expected: str) -> None:
    assert reason(TICK_CH, raw) == expected
