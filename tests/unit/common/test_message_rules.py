"""Every rule of the market messages, one mutation at a time: refused naming the field, or
accepted with the values sent (the edges of each rule)."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
import pytest

from common.messages import (
    MAX_COUNT,
    MAX_STRIKES,
    MessageError,
    decode_message,
    encode_message,
    wire_quantity,
)
from common.names import Channel
from tests.support.chains import build_chain
from tests.support.messages import QUOTE, TICK

TICK_CH = Channel.MARKET_UNDERLYING
QUOTE_CH = Channel.MARKET_OPTION_QUOTE
CHAIN_CH = Channel.MARKET_OPTION_CHAIN
CHAIN = orjson.loads(orjson.dumps(build_chain(5)))

Mutation = Callable[[dict[str, Any]], object]


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


def setter(key: str, value: Any) -> Mutation:
    return lambda m: m.__setitem__(key, value)


def row_setter(side: str, index: int, key: str, value: Any) -> Mutation:
    return lambda m: m[side][index].__setitem__(key, value)


def strike_shift(index: int, delta: float) -> Mutation:
    """Move strike ``index`` and both its rows by ``delta``: only the strike order can break."""

    def apply(m: dict[str, Any]) -> None:
        m["strikes"][index] += delta
        m["calls"][index]["strike"] += delta
        m["puts"][index]["strike"] += delta

    return apply


def long_chain(n: int) -> Mutation:
    def apply(m: dict[str, Any]) -> None:
        row = m["calls"][0]
        m["strikes"] = [float(k) for k in range(1, n + 1)]
        m["calls"] = [dict(row, strike=float(k)) for k in range(1, n + 1)]
        m["puts"] = copy.deepcopy(m["calls"])

    return apply


# --- every rule, one mutation at a time ----------------------------------------------------

REJECTED_TICKS: dict[str, tuple[Mutation, str]] = {
    "missing key": (lambda m: m.pop("seq"), "missing required field `seq`"),
    "unknown key": (setter("extra", 1), "unknown field `extra`"),
    "type not a string": (setter("type", None), "$.type"),
    "product lower case": (setter("product", "nifty"), "$.product"),
    "product too long": (setter("product", "N" * 33), "$.product"),
    "product empty": (setter("product", ""), "$.product"),
    "product starts with a digit": (setter("product", "1NIFTY"), "$.product"),
    "product with a trailing newline": (setter("product", "NIFTY\n"), "$.product"),
    "product not a string": (setter("product", 7), "$.product"),
    "volume above 2**53 - 1": (setter("volume", 2**53), "$.volume"),
    "seq above 2**53 - 1": (setter("seq", 10**30), "$.seq"),
    "timestamp before 1970": (setter("timestamp", "1969-12-31T23:59:59.999Z"), "$.timestamp"),
    "timestamp with a newline": (setter("timestamp", "2026-11-21T04:00:00.125Z\n"), "$.timestamp"),
    "price zero": (setter("price", 0.0), "$.price"),
    "price -0.0": (setter("price", -0.0), "$.price"),
    "price negative": (setter("price", -1.0), "$.price"),
    "price bool": (setter("price", True), "$.price"),
    "price None": (setter("price", None), "$.price"),
    "price nested": (setter("price", [1.0]), "$.price"),
    "price huge int": (setter("price", 10**400), "$.price"),
    "price numeric string": (setter("price", "24012.5"), "$.price"),
    "volume float": (setter("volume", 3.0), "$.volume"),
    "volume bool": (setter("volume", True), "$.volume"),
    "volume negative": (setter("volume", -1), "$.volume"),
    "seq float": (setter("seq", 7.0), "$.seq"),
    "seq bool": (setter("seq", False), "$.seq"),
    "timestamp without ms": (setter("timestamp", "2026-11-21T04:00:00Z"), "$.timestamp"),
    "timestamp with space": (setter("timestamp", "2026-11-21 04:00:00.125Z"), "$.timestamp"),
    "timestamp Feb 30": (setter("timestamp", "2026-02-30T04:00:00.125Z"), "$.timestamp"),
    "timestamp hour 24": (setter("timestamp", "2026-11-21T24:00:00.125Z"), "$.timestamp"),
    "timestamp Arabic digits": (setter("timestamp", "٢٠٢٦-11-21T04:00:00.125Z"), "$.timestamp"),
    "timestamp not a string": (setter("timestamp", 1_700_000_000), "$.timestamp"),
}


@pytest.mark.parametrize(("mutation", "where"), REJECTED_TICKS.values(), ids=REJECTED_TICKS.keys())
def test_tick_rules(mutation: Mutation, where: str) -> None:
    message = copy.deepcopy(TICK)
    mutation(message)
    assert where in reason(TICK_CH, message)


REJECTED_QUOTES: dict[str, tuple[Mutation, str]] = {
    "missing key": (lambda m: m.pop("oi"), "missing required field `oi`"),
    "unknown key": (setter("iv", 0.2), "unknown field `iv`"),
    "symbol empty": (setter("symbol", ""), "$.symbol"),
    "symbol too long": (setter("symbol", "S" * 65), "$.symbol"),
    "symbol not a string": (setter("symbol", 123), "$.symbol"),
    "option type lower case": (setter("option_type", "call"), "$.option_type"),
    "option type C": (setter("option_type", "C"), "$.option_type"),
    "ISO week-date expiry": (setter("expiry", "2026-W48-4"), "$.expiry"),
    "expiry day first": (setter("expiry", "26-11-2026"), "$.expiry"),
    "expiry Feb 30": (setter("expiry", "2026-02-30"), "$.expiry"),
    "expiry with time": (setter("expiry", "2026-11-26T00:00"), "$.expiry"),
    "expiry with a newline": (setter("expiry", "2026-11-26\n"), "$.expiry"),
    "strike zero": (setter("strike", 0), "$.strike"),
    "strike -0.0": (setter("strike", -0.0), "$.strike"),
    "bid negative": (setter("bid", -0.05), "$.bid"),
    "bid numeric string": (setter("bid", "1.5"), "$.bid"),
    "last bool": (setter("last", False), "$.last"),
    "oi negative fraction": (setter("oi", -0.1), "$.oi"),
    "oi fraction above 2**53 - 1": (setter("oi", 2.0**53), "$.oi"),
    "oi int above 2**53 - 1": (setter("oi", 2**53), "$.oi"),
    "oi huge int": (setter("oi", 10**400), "$.oi"),
    "volume bool": (setter("volume", True), "$.volume"),
    "oi string": (setter("oi", "12"), "$.oi"),
    "volume None": (setter("volume", None), "$.volume"),
}


@pytest.mark.parametrize(
    ("mutation", "where"), REJECTED_QUOTES.values(), ids=REJECTED_QUOTES.keys()
)
def test_quote_rules(mutation: Mutation, where: str) -> None:
    message = copy.deepcopy(QUOTE)
    mutation(message)
    assert where in reason(QUOTE_CH, message)


REJECTED_CHAINS: dict[str, tuple[Mutation, str]] = {
    "missing key": (lambda m: m.pop("puts"), "missing required field `puts`"),
    "unknown key": (setter("spot", 1.0), "unknown field `spot`"),
    "spot zero": (setter("spot_price", 0.0), "$.spot_price"),
    "no strikes": (lambda m: m.update(strikes=[], calls=[], puts=[]), "$.strikes"),
    "too many strikes": (long_chain(MAX_STRIKES + 1), "$.strikes"),
    "strikes not a list": (setter("strikes", {"0": 1.0}), "$.strikes"),
    "strike bool": (
        lambda m: m.update(strikes=[True], calls=m["calls"][:1], puts=m["puts"][:1]),
        "$.strikes[0]",
    ),
    "strike string": (lambda m: m["strikes"].__setitem__(0, str(m["strikes"][0])), "$.strikes[0]"),
    "strike zero": (strike_shift(0, -CHAIN["strikes"][0]), "$.strikes[0]"),
    "strike huge": (lambda m: m["strikes"].__setitem__(4, 10**400), "$.strikes[4]"),
    "strikes equal": (strike_shift(1, -50.0), "$.strikes[1]"),
    "strikes decreasing": (strike_shift(1, -75.0), "$.strikes[1]"),
    "one row too few": (lambda m: m["calls"].pop(), "$.calls"),
    "one row too many": (lambda m: m["puts"].append(copy.deepcopy(m["puts"][-1])), "$.puts"),
    "rows swapped": (lambda m: m["calls"].reverse(), "$.calls[0].strike"),
    "row strike off by 2e-9": (
        row_setter("puts", 2, "strike", CHAIN["strikes"][2] + 2e-9),
        "$.puts[2].strike",
    ),
    "row strike of another row": (
        row_setter("calls", 0, "strike", CHAIN["strikes"][1]),
        "$.calls[0].strike",
    ),
    "row not an object": (
        lambda m: m["calls"].__setitem__(3, list(m["calls"][3].values())),
        "$.calls[3]",
    ),
    "rows not a list": (setter("calls", None), "$.calls"),
    "row missing a field": (lambda m: m["calls"][1].pop("oi"), "$.calls[1]"),
    "row with an extra field": (row_setter("puts", 0, "iv", 0.2), "$.puts[0]"),
    "row field renamed": (lambda m: m["calls"][1].update(OI=m["calls"][1].pop("oi")), "$.calls[1]"),
    "row bid negative": (row_setter("calls", 4, "bid", -1.0), "$.calls[4].bid"),
    "row last bool": (row_setter("puts", 4, "last", True), "$.puts[4].last"),
    "row bid None": (row_setter("calls", 2, "bid", None), "$.calls[2].bid"),
    "row bid huge int": (row_setter("calls", 2, "bid", 10**400), "$.calls[2].bid"),
    "row bid negative huge int": (row_setter("calls", 2, "bid", -(10**400)), "$.calls[2].bid"),
    "row volume negative fraction": (row_setter("calls", 0, "volume", -0.5), "$.calls[0].volume"),
    "row oi fraction above 2**53 - 1": (row_setter("calls", 1, "oi", 1e16), "$.calls[1].oi"),
    "row oi bool": (row_setter("puts", 3, "oi", True), "$.puts[3].oi"),
    "row oi negative": (row_setter("puts", 3, "oi", -1), "$.puts[3].oi"),
}


@pytest.mark.parametrize(
    ("mutation", "where"), REJECTED_CHAINS.values(), ids=REJECTED_CHAINS.keys()
)
def test_chain_rules(mutation: Mutation, where: str) -> None:
    message = copy.deepcopy(CHAIN)
    mutation(message)
    assert where in reason(CHAIN_CH, message)


@pytest.mark.parametrize(
    ("channel", "literal"),
    [(TICK_CH, b"NaN"), (TICK_CH, b"Infinity"), (TICK_CH, b"-Infinity"), (QUOTE_CH, b"NaN")],
)
def test_non_finite_numbers_are_not_json(channel: Channel, literal: bytes) -> None:
    base = TICK if channel is TICK_CH else QUOTE
    field = b'"price"' if channel is TICK_CH else b'"ask"'
    raw = orjson.dumps(base)
    start = raw.index(field) + len(field) + 1
    raw = raw[:start] + literal + raw[raw.index(b",", start) :]
    assert reason(channel, raw).startswith("not JSON: ")


ACCEPTED: dict[str, tuple[Channel, dict[str, Any], Mutation]] = {
    "int price": (TICK_CH, TICK, setter("price", 24012)),
    "int price 2**53": (TICK_CH, TICK, setter("price", 2**53)),
    "price 1e308": (TICK_CH, TICK, setter("price", 1e308)),
    "price subnormal": (TICK_CH, TICK, setter("price", 5e-324)),
    "largest volume and seq": (TICK_CH, TICK, lambda m: m.update(volume=MAX_COUNT, seq=MAX_COUNT)),
    "zero volume": (TICK_CH, TICK, setter("volume", 0)),
    "fractional oi and volume": (QUOTE_CH, QUOTE, lambda m: m.update(oi=0.3, volume=1234.5)),
    "whole float oi": (QUOTE_CH, QUOTE, setter("oi", 7.0)),
    "largest fractional oi": (QUOTE_CH, QUOTE, setter("oi", MAX_COUNT - 0.5)),
    "tiny oi": (QUOTE_CH, QUOTE, setter("oi", 5e-324)),
    "-0.0 bid": (QUOTE_CH, QUOTE, setter("bid", -0.0)),
    "zero prices": (QUOTE_CH, QUOTE, lambda m: m.update(bid=0.0, ask=0, last=0.0)),
    "64-character symbol": (QUOTE_CH, QUOTE, setter("symbol", "S" * 64)),
    "32-character product": (QUOTE_CH, QUOTE, setter("product", "M&M_-" + "9" * 27)),
    "leap day expiry": (QUOTE_CH, QUOTE, setter("expiry", "2028-02-29")),
    "PUT": (QUOTE_CH, QUOTE, setter("option_type", "PUT")),
    "int strikes and rows": (
        CHAIN_CH,
        CHAIN,
        lambda m: m.update(
            strikes=[int(k) for k in m["strikes"]],
            calls=[dict(r, strike=int(r["strike"]), bid=1) for r in m["calls"]],
        ),
    ),
    "row strike within 1e-9": (
        CHAIN_CH,
        CHAIN,
        row_setter("calls", 2, "strike", CHAIN["strikes"][2] + 5e-10),
    ),
    "-0.0 row prices": (CHAIN_CH, CHAIN, row_setter("puts", 1, "bid", -0.0)),
    "fractional row oi": (CHAIN_CH, CHAIN, row_setter("puts", 1, "oi", 0.1)),
    "one strike": (CHAIN_CH, CHAIN, lambda m: m.update(strikes=m["strikes"][:1],
                                                       calls=m["calls"][:1], puts=m["puts"][:1])),
    "MAX_STRIKES strikes": (CHAIN_CH, CHAIN, long_chain(MAX_STRIKES)),
    "prices near the largest float": (
        CHAIN_CH,
        CHAIN,
        lambda m: [r.update(bid=1e308, ask=1.7e308) for r in m["calls"]],
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("channel", "literal"), [(QUOTE_CH, b"1e400"), (QUOTE_CH, b"-1e400"), (CHAIN_CH, b"1e400")]
)
def test_an_infinite_oi_is_refused_at_its_path(channel: Channel, literal: bytes) -> None:
    raw = orjson.dumps(QUOTE if channel is QUOTE_CH else CHAIN)
    start = raw.index(b'"oi"') + len(b'"oi"') + 1
    raw = raw[:start] + literal + raw[raw.index(b"}" if channel is CHAIN_CH else b",", start) :]
    where = "$.oi" if channel is QUOTE_CH else "$.calls[0].oi"
    assert reason(channel, raw).endswith(f"- at `{where}`")


def test_oi_and_volume_keep_their_json_type_through_a_round_trip() -> None:
    """Integers stay integers on the wire (``100``, never ``100.0``), fractions fractions."""
    for oi, volume, text in ((100, 12, b'"volume":12,"oi":100'),
                             (0.3, 1234.5, b'"volume":1234.5,"oi":0.3'),
                             (7.0, 0, b'"volume":0,"oi":7.0')):  # fmt: skip
        raw = orjson.dumps(dict(QUOTE, oi=oi, volume=volume))
        quote = decode_message(QUOTE_CH, raw)
        assert (type(quote.oi), type(quote.volume)) == (type(oi), type(volume))  # type: ignore[union-attr]
        assert text in encode_message(quote)
        assert encode_message(quote) == raw


@pytest.mark.parametrize(("channel", "base", "mutation"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_edge_values_are_accepted(
    channel: Channel, base: dict[str, Any], mutation: Mutation
) -> None:
    message = copy.deepcopy(base)
    mutation(message)
    decoded = accepted(channel, message)
    assert decoded == message  # numerically: an int in a float field comes back a float
    floats = [decoded.get("price"), decoded.get("bid"), *decoded.get("strikes", [])]
    assert all(type(v) is float for v in floats if v is not None)
    assert not any(isinstance(v, float) and math.isnan(v) for v in decoded.values())


@pytest.mark.parametrize(
    ("computed", "wire"),
    [(0.1 + 0.2, 0.3), (1.7 - 1.6, 0.1), (-(1.7 - 1.6), -0.1), (3.0, 3), (-0.0, 0),
     (0.1 + 0.2 + 0.7, 1), (2.0**53 - 1, 2**53 - 1), (1234.56789012345, 1234.56789012),
     (4e-9, 0)],
)  # fmt: skip
def test_a_computed_quantity_goes_on_the_wire_rounded_or_whole(computed: float, wire: Any) -> None:
    got = wire_quantity(computed)
    assert (got, type(got)) == (wire, type(wire))
