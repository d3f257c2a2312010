"""The market decoders accept exactly what an independent reading of the contract accepts.

Hypothesis mutates valid messages (keys, types, special numbers, strike order,
row strikes, timestamps, expiries, products), sends each as JSON, and checks
``decode_message`` against :func:`oracle`, a plain-Python statement of every
rule written apart from the structs: the decoder accepts a message if and only
if the oracle does, and what it accepts comes back with the values sent.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.messages import MAX_COUNT, MAX_STRIKES, MessageError, decode_message
from common.names import Channel
from tests.support.chains import build_chain
from tests.support.messages import QUOTE, TICK

TICK_CH = Channel.MARKET_UNDERLYING
QUOTE_CH = Channel.MARKET_OPTION_QUOTE
CHAIN_CH = Channel.MARKET_OPTION_CHAIN
CHAINS = {n: json.loads(json.dumps(build_chain(n))) for n in (1, 2, 3, 5, 21)}


# --- the oracle ------------------------------------------------------------------------------

_PRODUCT = re.compile(r"[A-Z][A-Z0-9&_-]{0,31}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_EXPIRY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TICK_KEYS = {"type", "product", "price", "volume", "timestamp", "seq"}
QUOTE_KEYS = {"symbol", "product", "expiry", "strike", "option_type", "bid", "ask", "last",
              "volume", "oi", "timestamp", "seq"}  # fmt: skip
CHAIN_KEYS = {"product", "expiry", "spot_price", "strikes", "calls", "puts", "timestamp", "seq"}
ROW_KEYS = {"strike", "bid", "ask", "last", "volume", "oi"}


def _real(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is no JSON number that fits one."""
    if type(value) not in (int, float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def positive(value: Any) -> bool:
    number = _real(value)
    return number is not None and number > 0


def non_negative(value: Any) -> bool:
    number = _real(value)
    return number is not None and number >= 0


def count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT


def quantity(value: Any) -> bool:
    """An option's volume or OI: an integer count, or a finite fraction in the same range."""
    if type(value) is float:
        return math.isfinite(value) and 0 <= value <= MAX_COUNT
    return count(value)


def product(value: Any) -> bool:
    return type(value) is str and _PRODUCT.fullmatch(value) is not None


def timestamp(value: Any) -> bool:
    if type(value) is not str or not _TIMESTAMP.fullmatch(value) or value < "1970":
        return False
    try:
        dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


def expiry(value: Any) -> bool:
    if type(value) is not str or not _EXPIRY.fullmatch(value):
        return False
    try:
        dt.datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def envelope(m: dict[str, Any], keys: set[str]) -> bool:
    return (
        set(m) == keys and product(m["product"]) and count(m["seq"]) and timestamp(m["timestamp"])
    )


def tick_ok(m: dict[str, Any]) -> bool:
    return (
        envelope(m, TICK_KEYS)
        and m["type"] == "underlying"
        and positive(m["price"])
        and count(m["volume"])
    )


def quote_ok(m: dict[str, Any]) -> bool:
    symbol = m.get("symbol")
    return (
        envelope(m, QUOTE_KEYS)
        and type(symbol) is str
        and 1 <= len(symbol) <= 64
        and m["option_type"] in ("CALL", "PUT")
        and expiry(m["expiry"])
        and positive(m["strike"])
        and all(non_negative(m[k]) for k in ("bid", "ask", "last"))
        and quantity(m["volume"])
        and quantity(m["oi"])
    )


def row_ok(row: Any, strike: float) -> bool:
    return (
        type(row) is dict
        and set(row) == ROW_KEYS
        and positive(row["strike"])
        and all(non_negative(row[k]) for k in ("bid", "ask", "last"))
        and quantity(row["volume"])
        and quantity(row["oi"])
        and abs(float(row["strike"]) - strike) <= 1e-9
    )


def chain_ok(m: dict[str, Any]) -> bool:
    if not (envelope(m, CHAIN_KEYS) and expiry(m["expiry"]) and positive(m["spot_price"])):
        return False
    strikes = m["strikes"]
    if type(strikes) is not list or not 1 <= len(strikes) <= MAX_STRIKES:
        return False
    if not all(map(positive, strikes)):
        return False
    values = [float(k) for k in strikes]
    if any(b <= a for a, b in itertools.pairwise(values)):
        return False
    return all(
        type(rows) is list
        and len(rows) == len(values)
        and all(row_ok(row, k) for row, k in zip(rows, values, strict=True))
        for rows in (m["calls"], m["puts"])
    )


RULES: dict[Channel, Callable[[dict[str, Any]], bool]] = {
    TICK_CH: tick_ok,
    QUOTE_CH: quote_ok,
    CHAIN_CH: chain_ok,
}


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def oracle(channel: Channel, raw: bytes) -> bool:
    """Every rule of the contract of ``channel``, applied to the JSON ``raw``."""
    try:
        message = json.loads(raw, parse_constant=_no_constant)
    except ValueError:
        return False
    return type(message) is dict and RULES[channel](message)


def same(got: Any, sent: Any) -> bool:
    """``got`` carries the values ``sent``: numbers equal as floats, containers item by item."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and got.keys() == sent.keys() and all(
            same(got[k], sent[k]) for k in sent
        )  # fmt: skip
    if isinstance(sent, list | tuple):
        return isinstance(got, list) and len(got) == len(sent) and all(map(same, got, sent))
    if type(got) is float and type(sent) is int:
        return got == float(sent)
    return type(got) is type(sent) and bool(got == sent)


def check(channel: Channel, message: Any) -> bool:
    """The property, for ``message`` sent as JSON; returns whether it was accepted."""
    raw = json.dumps(message).encode()  # NaN and Infinity as their (non-JSON) literals
    try:
        decoded = msgspec.to_builtins(decode_message(channel, raw))
    except MessageError:
        assert not oracle(channel, raw), raw[:300]
        return False
    assert oracle(channel, raw), raw[:300]
    assert same(decoded, json.loads(raw)), raw[:300]
    return True


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
    True, False, None, "", "1.5", "24000", "nan", "Infinity", (24000.0,), [], {}, [1.0],
    {"a": 1},
]  # fmt: skip
wrong_types = st.sampled_from(WRONG_TYPES).map(copy.deepcopy)  # a shared list could nest in itself
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=70)  # no surrogates
timestamps = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]\.[0-9]{3}Z\n?",
                  fullmatch=True),
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.sampled_from(
        ["2026-11-21T04:00:00.125Z\n", "2026-11-21T04:00:00Z", "2026-11-21 04:00:00.125Z",
         "2026-11-21T04:00:00.125+00:00", "2026-11-21T04:00:00.125", "٢٠٢٦-11-21T04:00:00.125Z",
         "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z"]
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
    "symbol": text,
    "option_type": st.sampled_from(["CALL", "PUT", "call", "C", "PUTS", "CALL\n", ""]),
    "type": st.sampled_from(["underlying", "Underlying", "underlying ", "tick", ""]),
}
"""Values near the valid ones of each string field; numeric fields get :data:`numbers`."""
any_value = st.one_of(numbers, wrong_types, text, *FIELD_VALUES.values())

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
def test_tick_decoder_agrees_with_the_oracle(message: dict[str, Any]) -> None:
    check(TICK_CH, message)


@PROPERTY
@given(mutated(QUOTE))
def test_quote_decoder_agrees_with_the_oracle(message: dict[str, Any]) -> None:
    check(QUOTE_CH, message)


@PROPERTY
@given(st.sampled_from(sorted(CHAINS)).flatmap(lambda n: mutated(CHAINS[n])))
def test_chain_decoder_agrees_with_the_oracle(message: dict[str, Any]) -> None:
    check(CHAIN_CH, message)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([TICK_CH, QUOTE_CH, CHAIN_CH]),
    st.sampled_from([TICK, QUOTE, CHAINS[3]]).flatmap(mutated),
)
def test_any_market_channel_any_message(channel: Channel, message: dict[str, Any]) -> None:
    check(channel, message)


@pytest.mark.parametrize(
    ("channel", "message"),
    [(TICK_CH, TICK), (QUOTE_CH, QUOTE), *((CHAIN_CH, c) for c in CHAINS.values())],
)
def test_the_base_messages_are_accepted(channel: Channel, message: dict[str, Any]) -> None:
    assert check(channel, message)
