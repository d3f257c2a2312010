"""The fast path never accepts what the schemas reject or would change, and takes normal traffic.

The property tests mutate valid messages (keys, types, special numbers, strike
order, row strikes, timestamps, expiries, products) and check the one safety
property of :func:`fast_valid`: True implies that marshmallow loads the message
without error to a dict equal to it.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import math
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from common import fastcheck
from common.fastcheck import fast_valid
from common.names import Channel
from common.schemas import MAX_COUNT, MAX_STRIKES, SCHEMAS, ChainRowSchema
from feed_generator.market import Market
from feed_generator.products import resolve_products
from feed_generator.runner import encode
from tests.support.chains import build_chain
from tests.support.messages import QUOTE, TICK

TICK_CH = Channel.MARKET_UNDERLYING
QUOTE_CH = Channel.MARKET_OPTION_QUOTE
CHAIN_CH = Channel.MARKET_OPTION_CHAIN
CHAINS = {n: orjson.loads(orjson.dumps(build_chain(n))) for n in (1, 2, 3, 5, 21)}
"""Valid chains as the worker sees them: decoded from JSON."""


def schema_keeps(channel: Channel, message: Any) -> bool:
    """Marshmallow loads ``message`` without error, to a dict equal to it."""
    try:
        loaded = SCHEMAS[channel].load(message)
    except ValidationError:
        return False
    return bool(loaded == message)


def check_safety(channel: Channel, message: Any) -> bool:
    """The property: ``fast_valid`` implies :func:`schema_keeps`; the message is not touched."""
    before = copy.deepcopy(message)
    fast = fast_valid(channel, message)
    assert message == before  # (deepcopy keeps float objects, so a NaN compares equal)
    if fast:
        assert schema_keeps(channel, message), message
    return fast


# --- mutation strategies -------------------------------------------------------------------

EDGE_NUMBERS: list[Any] = [
    0, 1, 0.0, -0.0, 1.0, -1.0, 0.5, 24000, 24000.0, 5e-324, -5e-324, 2.2250738585072014e-308,
    1e308, -1e308, 1.7976931348623157e308, 2**53, 2**53 + 1, -(2**53) - 1, 2**63, 2**64 + 1,
    10**30, 10**400, -(10**400), math.nan, math.inf, -math.inf,
]  # fmt: skip
edge_numbers = st.sampled_from(EDGE_NUMBERS)
numbers = st.one_of(  # mostly edges: one rule per edge
    edge_numbers, edge_numbers, st.integers(min_value=-(2**70), max_value=2**70), st.floats()
)
WRONG_TYPES: list[Any] = [
    True, False, None, "", "1.5", "24000", "nan", "Infinity", b"NIFTY", (24000.0,), [], {}, [1.0],
    {"a": 1}, decimal.Decimal("1.5"),
]  # fmt: skip
wrong_types = st.sampled_from(WRONG_TYPES).map(copy.deepcopy)  # a shared list could nest in itself
timestamps = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]\.[0-9]{3}Z\n?",
                  fullmatch=True),
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.sampled_from(
        ["2026-11-21T04:00:00.125Z\n", "2026-11-21T04:00:00Z", "2026-11-21 04:00:00.125Z",
         "2026-11-21T04:00:00.125+00:00", "2026-11-21T04:00:00.125", "٢٠٢٦-11-21T04:00:00.125Z"]
    ),
)  # fmt: skip
expiries = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9W]{2,3}-[0-9]{1,2}\n?", fullmatch=True),
    st.dates().map(dt.date.isoformat),
    st.sampled_from(["2026-W48-4", "20261126", "2026-11-26T00:00", "26-11-2026", "2026-11-26\n"]),
)
products = st.from_regex(r"[A-Za-z0-9&_\- \n.]{0,34}", fullmatch=True)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": timestamps,
    "expiry": expiries,
    "product": products,
    "symbol": st.text(min_size=0, max_size=70),
    "option_type": st.sampled_from(["CALL", "PUT", "call", "C", "PUTS", "CALL\n", ""]),
    "type": st.sampled_from(["underlying", "Underlying", "underlying ", "tick", ""]),
}
"""Values near the valid ones of each string field; numeric fields get :data:`numbers`."""
any_value = st.one_of(numbers, wrong_types, st.text(max_size=70), *FIELD_VALUES.values())

Path = tuple[Any, Any]
"""A container and a key (dict) or index (list) inside a message."""


def paths(value: Any, top: bool = True) -> dict[str, list[Path]]:
    """Every place in ``value``, by level, so top-level fields are as likely picks as row fields."""
    found: dict[str, list[Path]] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value)
    level = "top" if top else "element" if isinstance(value, list) else "row field"
    for key, item in items:
        found.setdefault(level, []).append((value, key))
        if isinstance(item, dict | list):
            for inner, places in paths(item, top=False).items():
                found.setdefault(inner, []).extend(places)
    return found


def nudge(value: Any, delta: Any) -> Any:
    """``value`` moved by ``delta``, negated, or turned int or float; non-numbers unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    try:
        if delta == "int":
            return int(value) if math.isfinite(value) else value
        if delta == "float":
            return float(value)
        if delta == "neg":
            return -value
        return value + delta
    except OverflowError:  # a huge int
        return value


NUDGES = st.sampled_from(["int", "float", "neg", 1e-10, -1e-10, 9e-10, 2e-9, -2e-9, 1, -1, 0.5])


@st.composite
def mutate_place(draw: st.DrawFn, message: dict[str, Any]) -> None:
    """One mutation at a random place of ``message``: most break it, some keep it valid."""
    levels = paths(message)
    container, key = draw(st.sampled_from(levels[draw(st.sampled_from(sorted(levels)))]))
    op = draw(st.sampled_from(["field", "field", "type", "nudge", "delete", "add", "swap", "copy"]))
    if op == "field":
        name = key if isinstance(key, str) else "strike"
        container[key] = draw(FIELD_VALUES.get(name, numbers))
    elif op == "type":
        value = container[key]
        container[key] = tuple(value) if type(value) is list else draw(wrong_types)
    elif op == "nudge":
        container[key] = nudge(container[key], draw(NUDGES))
    elif op == "delete":
        del container[key]
    elif op == "add" and isinstance(container, dict):
        name = draw(st.sampled_from(["extra", "Strike", "strike ", "iv", "", *container]))
        container[name] = draw(any_value)
    elif op == "add":
        container.insert(key, draw(st.one_of(any_value, st.just(copy.deepcopy(container[key])))))
    elif isinstance(container, list):
        other = draw(st.integers(0, len(container) - 1))
        if op == "swap":
            container[key], container[other] = container[other], container[key]
        else:
            container[key] = copy.deepcopy(container[other])


def is_chain_shaped(chain: dict[str, Any]) -> bool:
    lists = [chain.get(name) for name in ("strikes", "calls", "puts")]
    return all(type(v) is list for v in lists) and len({len(v) for v in lists}) == 1  # type: ignore[arg-type]


@st.composite
def mutate_chain(draw: st.DrawFn, chain: dict[str, Any]) -> None:
    """A change of strikes that keeps the rows in step, so one chain rule at a time can break."""
    n = len(chain["strikes"])
    op = draw(st.sampled_from(["restrike", "restrike", "reorder", "resize"]))
    if op == "restrike" and n:
        # A new strike (and row strikes) at i: equal to, near or between its neighbours, or odd.
        i = draw(st.integers(0, n - 1))
        near = chain["strikes"][draw(st.sampled_from([max(i - 1, 0), min(i + 1, n - 1)]))]
        value = draw(st.one_of(numbers, wrong_types, NUDGES.map(lambda d: nudge(near, d))))
        chain["strikes"][i] = value
        for side in ("calls", "puts"):
            if type(chain[side][i]) is dict:
                chain[side][i]["strike"] = draw(
                    st.one_of(st.just(value), NUDGES.map(lambda d: nudge(value, d)))
                )
    elif op == "reorder" and n >= 2:
        i = draw(st.integers(0, n - 2))
        order = list(range(n))
        order[i + 1] = i if draw(st.booleans()) else order[i + 1]  # a repeat, or a swap below
        if order[i + 1] != i:
            order[i], order[i + 1] = order[i + 1], order[i]
        for name in ("strikes", "calls", "puts"):
            chain[name] = [copy.deepcopy(chain[name][j]) for j in order]
    elif op == "resize":
        names = draw(
            st.sampled_from([("strikes", "calls", "puts"), ("calls",), ("puts",), ("strikes",)])
        )
        grow, empty = draw(st.booleans()), draw(st.integers(0, 5)) == 0
        for name in names:
            items = chain[name]
            if empty:
                items.clear()
            elif grow and items:
                items.append(copy.deepcopy(items[-1]))
            elif items:
                items.pop()


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` after one or two mutations (chain-level ones for chains)."""
    message = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 2))):
        if is_chain_shaped(message) and draw(st.booleans()):
            draw(mutate_chain(message))
        elif message:
            draw(mutate_place(message))
    return message


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(mutated(TICK))
def test_fast_tick_implies_schema_keeps_it(message: dict[str, Any]) -> None:
    check_safety(TICK_CH, message)


@PROPERTY
@given(mutated(QUOTE))
def test_fast_quote_implies_schema_keeps_it(message: dict[str, Any]) -> None:
    check_safety(QUOTE_CH, message)


@PROPERTY
@given(st.sampled_from(sorted(CHAINS)).flatmap(lambda n: mutated(CHAINS[n])))
def test_fast_chain_implies_schema_keeps_it(message: dict[str, Any]) -> None:
    check_safety(CHAIN_CH, message)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(Channel)), st.sampled_from([TICK, QUOTE, CHAINS[3]]).flatmap(mutated))
def test_any_channel_any_message_is_safe(channel: Channel, message: dict[str, Any]) -> None:
    check_safety(channel, message)


# --- normal traffic takes the fast path ----------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "message"),
    [(TICK_CH, TICK), (QUOTE_CH, QUOTE), *((CHAIN_CH, c) for c in CHAINS.values())],
)
def test_valid_base_messages_are_fast(channel: Channel, message: dict[str, Any]) -> None:
    assert check_safety(channel, message)


@pytest.mark.parametrize(("seed", "strikes"), [(3, 21), (8, 101), (5, 1)])
def test_every_message_of_the_real_feed_is_fast(seed: int, strikes: int) -> None:
    start = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
    market = Market(seed, start, resolve_products(None), strikes=strikes)
    wire = encode(market.advance(1.5))  # the JSON bytes the worker receives
    assert {channel for _, channel, _ in wire} == {c.value for c in (TICK_CH, QUOTE_CH, CHAIN_CH)}
    for _, channel, data in wire:
        assert check_safety(Channel(channel), orjson.loads(data)), data[:200]


def test_enriched_channels_are_never_fast() -> None:
    for channel in (Channel.ENRICHED_UNDERLYING, Channel.ENRICHED_OPTION_CHAIN):
        assert not fast_valid(channel, TICK)
        assert not fast_valid(channel, CHAINS[3])


def test_the_fast_path_knows_every_schema_field() -> None:
    # In step with the schemas: a field dropped there would make the fast path unsafe.
    assert set(SCHEMAS[TICK_CH].fields) == fastcheck._TICK_KEYS
    assert set(SCHEMAS[QUOTE_CH].fields) == fastcheck._QUOTE_KEYS
    assert set(SCHEMAS[CHAIN_CH].fields) == fastcheck._CHAIN_KEYS
    assert set(ChainRowSchema().fields) == set(fastcheck._ROW_FIELDS)


def test_a_non_dict_is_never_fast() -> None:
    assert not fast_valid(TICK_CH, list(TICK.items()))  # type: ignore[arg-type]


# --- explicit rules ------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], object]


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


def subnormal_strike(m: dict[str, Any]) -> None:
    m["strikes"] = [5e-324]
    m["calls"][0]["strike"] = m["puts"][0]["strike"] = 5e-324


def long_chain(n: int) -> Mutation:
    def apply(m: dict[str, Any]) -> None:
        row = m["calls"][0]
        m["strikes"] = [float(k) for k in range(1, n + 1)]
        m["calls"] = [dict(row, strike=float(k)) for k in range(1, n + 1)]
        m["puts"] = copy.deepcopy(m["calls"])

    return apply


REJECTED_TICKS: dict[str, Mutation] = {
    "missing key": lambda m: m.pop("seq"),
    "unknown key": setter("extra", 1),
    "type not 'underlying'": setter("type", "tick"),
    "type not a string": setter("type", None),
    "product lower case": setter("product", "nifty"),
    "product too long": setter("product", "N" * 33),
    "product empty": setter("product", ""),
    "product starts with a digit": setter("product", "1NIFTY"),
    "volume above 2**53 - 1": setter("volume", 2**53),
    "seq above 2**53 - 1": setter("seq", 10**30),
    "timestamp before 1970": setter("timestamp", "1969-12-31T23:59:59.999Z"),
    "product with a trailing newline": setter("product", "NIFTY\n"),
    "timestamp with a trailing newline": setter("timestamp", "2026-11-21T04:00:00.125Z\n"),
    "product not a string": setter("product", b"NIFTY"),
    "price zero": setter("price", 0.0),
    "price -0.0": setter("price", -0.0),
    "price negative": setter("price", -1.0),
    "price NaN": setter("price", math.nan),
    "price inf": setter("price", math.inf),
    "price bool": setter("price", True),
    "price None": setter("price", None),
    "price nested": setter("price", [1.0]),
    "price huge int": setter("price", 10**400),
    "price int above 2**53": setter("price", 2**53 + 1),
    "volume float": setter("volume", 3.0),
    "volume bool": setter("volume", True),
    "volume negative": setter("volume", -1),
    "seq float": setter("seq", 7.0),
    "seq bool": setter("seq", False),
    "timestamp without ms": setter("timestamp", "2026-11-21T04:00:00Z"),
    "timestamp with space": setter("timestamp", "2026-11-21 04:00:00.125Z"),
    "timestamp Feb 30": setter("timestamp", "2026-02-30T04:00:00.125Z"),
    "timestamp hour 24": setter("timestamp", "2026-11-21T24:00:00.125Z"),
    "timestamp not a string": setter("timestamp", 1_700_000_000),
}

COERCED_OR_QUIRKS: dict[str, tuple[Channel, dict[str, Any], Mutation]] = {
    # Marshmallow loads these, but to a different value: the caller must use its result.
    "numeric string price": (TICK_CH, TICK, setter("price", "24012.5")),
    "numeric string bid": (QUOTE_CH, QUOTE, setter("bid", "1.5")),
    "decimal strike": (QUOTE_CH, QUOTE, setter("strike", decimal.Decimal("24000"))),
    "tuple of strikes": (CHAIN_CH, CHAINS[3], lambda m: m.__setitem__("strikes", (*m["strikes"],))),
    "bytes product": (TICK_CH, TICK, setter("product", b"NIFTY")),
}


@pytest.mark.parametrize("mutation", REJECTED_TICKS.values(), ids=REJECTED_TICKS.keys())
def test_tick_rules(mutation: Mutation) -> None:
    message = copy.deepcopy(TICK)
    mutation(message)
    assert not fast_valid(TICK_CH, message)
    assert not schema_keeps(TICK_CH, message)


REJECTED_QUOTES: dict[str, Mutation] = {
    "missing key": lambda m: m.pop("oi"),
    "unknown key": setter("iv", 0.2),
    "symbol empty": setter("symbol", ""),
    "ISO week-date expiry": setter("expiry", "2026-W48-4"),
    "symbol too long": setter("symbol", "S" * 65),
    "symbol not a string": setter("symbol", 123),
    "option type lower case": setter("option_type", "call"),
    "option type C": setter("option_type", "C"),
    "expiry day first": setter("expiry", "26-11-2026"),
    "expiry Feb 30": setter("expiry", "2026-02-30"),
    "expiry with time": setter("expiry", "2026-11-26T00:00"),
    "strike zero": setter("strike", 0),
    "strike -0.0": setter("strike", -0.0),
    "bid negative": setter("bid", -0.05),
    "ask NaN": setter("ask", math.nan),
    "last -inf": setter("last", -math.inf),
    "last bool": setter("last", False),
    "oi float": setter("oi", 1.0),
    "oi string": setter("oi", "12"),
    "volume None": setter("volume", None),
}


@pytest.mark.parametrize("mutation", REJECTED_QUOTES.values(), ids=REJECTED_QUOTES.keys())
def test_quote_rules(mutation: Mutation) -> None:
    message = copy.deepcopy(QUOTE)
    mutation(message)
    assert not fast_valid(QUOTE_CH, message)
    assert not schema_keeps(QUOTE_CH, message)


REJECTED_CHAINS: dict[str, Mutation] = {
    "missing key": lambda m: m.pop("puts"),
    "unknown key": setter("spot", 1.0),
    "spot zero": setter("spot_price", 0.0),
    "spot NaN": setter("spot_price", math.nan),
    "no strikes": lambda m: m.update(strikes=[], calls=[], puts=[]),
    "too many strikes": long_chain(MAX_STRIKES + 1),
    "strikes not a list": setter("strikes", {"0": 1.0}),
    "strike bool": lambda m: m.update(strikes=[True], calls=m["calls"][:1], puts=m["puts"][:1]),
    "strike NaN": strike_shift(1, math.nan),
    "strike inf": strike_shift(4, math.inf),
    "strike string": lambda m: m["strikes"].__setitem__(0, str(m["strikes"][0])),
    "strike zero": strike_shift(0, -CHAINS[5]["strikes"][0]),
    "strike int above 2**53": lambda m: m["strikes"].__setitem__(4, 2**53 + 1),
    "strikes equal": strike_shift(1, -50.0),
    "strikes decreasing": strike_shift(1, -75.0),
    "one row too few": lambda m: m["calls"].pop(),
    "one row too many": lambda m: m["puts"].append(copy.deepcopy(m["puts"][-1])),
    "rows swapped": lambda m: m["calls"].reverse(),
    "row strike off by 2e-9": row_setter("puts", 2, "strike", CHAINS[5]["strikes"][2] + 2e-9),
    "row strike of another row": row_setter("calls", 0, "strike", CHAINS[5]["strikes"][1]),
    "row not a dict": lambda m: m["calls"].__setitem__(3, list(m["calls"][3].values())),
    "rows not a list": setter("calls", None),
    "row missing a field": lambda m: m["calls"][1].pop("oi"),
    "row with an extra field": row_setter("puts", 0, "iv", 0.2),
    "row field renamed": lambda m: m["calls"][1].update(OI=m["calls"][1].pop("oi")),
    "row bid negative": row_setter("calls", 4, "bid", -1.0),
    "row ask NaN": row_setter("puts", 0, "ask", math.nan),
    "row last inf": row_setter("puts", 4, "last", math.inf),
    "row last bool": row_setter("puts", 4, "last", True),
    "row bid None": row_setter("calls", 2, "bid", None),
    "row bid huge int": row_setter("calls", 2, "bid", 10**400),
    "row bid negative huge int": row_setter("calls", 2, "bid", -(10**400)),
    "row volume float": row_setter("calls", 0, "volume", 1.0),
    "row oi bool": row_setter("puts", 3, "oi", True),
    "row oi negative": row_setter("puts", 3, "oi", -1),
}


@pytest.mark.parametrize("mutation", REJECTED_CHAINS.values(), ids=REJECTED_CHAINS.keys())
def test_chain_rules(mutation: Mutation) -> None:
    message = copy.deepcopy(CHAINS[5])
    mutation(message)
    assert not fast_valid(CHAIN_CH, message)
    assert not schema_keeps(CHAIN_CH, message)


@pytest.mark.parametrize(
    ("channel", "base", "mutation"), COERCED_OR_QUIRKS.values(), ids=COERCED_OR_QUIRKS.keys()
)
def test_coerced_or_unusual_values_go_to_marshmallow(
    channel: Channel, base: dict[str, Any], mutation: Mutation
) -> None:
    message = copy.deepcopy(base)
    mutation(message)
    SCHEMAS[channel].load(message)  # accepted, possibly changed
    assert not fast_valid(channel, message)


ACCEPTED: dict[str, tuple[Channel, dict[str, Any], Mutation]] = {
    "int price": (TICK_CH, TICK, setter("price", 24012)),
    "int price 2**53": (TICK_CH, TICK, setter("price", 2**53)),
    "price 1e308": (TICK_CH, TICK, setter("price", 1e308)),
    "price subnormal": (TICK_CH, TICK, setter("price", 5e-324)),
    "largest volume and seq": (
        TICK_CH,
        TICK,
        lambda m: m.update(volume=MAX_COUNT, seq=MAX_COUNT),
    ),
    "zero volume": (TICK_CH, TICK, setter("volume", 0)),
    "-0.0 bid": (QUOTE_CH, QUOTE, setter("bid", -0.0)),
    "zero prices": (QUOTE_CH, QUOTE, lambda m: m.update(bid=0.0, ask=0, last=0.0)),
    "64-character symbol": (QUOTE_CH, QUOTE, setter("symbol", "S" * 64)),
    "32-character product": (QUOTE_CH, QUOTE, setter("product", "M&M_-" + "9" * 27)),
    "leap day expiry": (QUOTE_CH, QUOTE, setter("expiry", "2028-02-29")),
    "PUT": (QUOTE_CH, QUOTE, setter("option_type", "PUT")),
    "int strikes and rows": (
        CHAIN_CH,
        CHAINS[5],
        lambda m: m.update(
            strikes=[int(k) for k in m["strikes"]],
            calls=[dict(r, strike=int(r["strike"]), bid=1) for r in m["calls"]],
        ),
    ),
    "row strike within 1e-9": (
        CHAIN_CH,
        CHAINS[5],
        row_setter("calls", 2, "strike", CHAINS[5]["strikes"][2] + 5e-10),
    ),
    "-0.0 row prices": (CHAIN_CH, CHAINS[5], row_setter("puts", 1, "bid", -0.0)),
    "subnormal strike": (CHAIN_CH, CHAINS[1], subnormal_strike),
    "MAX_STRIKES strikes": (CHAIN_CH, CHAINS[1], long_chain(MAX_STRIKES)),
    "prices near the largest float": (
        CHAIN_CH,
        CHAINS[3],
        lambda m: [r.update(bid=1e308, ask=1.7e308) for r in m["calls"]],
    ),
}


@pytest.mark.parametrize(("channel", "base", "mutation"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_canonical_edge_values_are_fast(
    channel: Channel, base: dict[str, Any], mutation: Mutation
) -> None:
    message = copy.deepcopy(base)
    mutation(message)
    assert check_safety(channel, message)
