"""enrich_chains: for every chain of a batch, bit for bit what enrich_chain gives it alone."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import struct
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.names import Channel
from feed_generator.market import Market, Rates
from feed_generator.products import resolve_products
from optionsmath import enrich_chain, enrich_chains
from tests.support.chains import build_chain

STAMP = "2026-11-21T04:00:00.250Z"
Item = tuple[dict[str, Any], dict[str, Any] | None]


def identical(a: object, b: object, where: str = "") -> None:
    """``a`` and ``b`` alike to the bit: types, key order, float bits (any NaN equals any NaN)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert isinstance(b, dict)
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            identical(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert isinstance(b, float)
        same = (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)
        assert same, f"{where}: {a!r} != {b!r}"
    elif isinstance(a, ValueError):
        assert str(a) == str(b), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def one_by_one(items: list[Item]) -> list[dict[str, Any] | ValueError]:
    out: list[dict[str, Any] | ValueError] = []
    for chain, previous in items:
        try:
            out.append(enrich_chain(chain, previous, processed_at=STAMP))
        except ValueError as exc:
            out.append(exc)
    return out


def assert_batch_matches(items: list[Item]) -> list[dict[str, Any] | ValueError]:
    """The batch result, after checking it against enrich_chain chain by chain."""
    expected = one_by_one(items)
    got = enrich_chains(items, processed_at=STAMP)
    assert len(got) == len(items)
    for i, (x, y) in enumerate(zip(got, expected, strict=True)):
        identical(x, y, f"item {i}")
    return got


# --- synthetic chains -------------------------------------------------------------------------


def edited(chain: dict[str, Any], *edits: tuple[str, int, dict[str, Any]]) -> dict[str, Any]:
    """A deep copy of ``chain`` with row ``edits``: (side, index, fields)."""
    out = copy.deepcopy(chain)
    for side, index, fields in edits:
        out[side][index % len(out[side])].update(fields)
    return out


def moved(
    chain: dict[str, Any], seq: int, oi_step: int = 37, price_step: float = 0.35
) -> dict[str, Any]:
    """The next snapshot of ``chain``: OI and last moved up and down, row by row."""
    out = copy.deepcopy(chain)
    out["seq"] = seq
    for side in ("calls", "puts"):
        for i, row in enumerate(out[side]):
            sign = 1 if i % 3 else -1
            row["oi"] = max(row["oi"] + sign * oi_step * (i % 5), 0)
            row["last"] = max(row["last"] + (-sign if i % 2 else sign) * price_step * (i % 4), 0.0)
    return out


ROW_EDITS: list[dict[str, Any]] = [
    {"bid": 0.0, "ask": 0.0},  # one-sided: last is the price
    {"bid": 0.0, "ask": 0.0, "last": 0.0},  # no price at all
    {"bid": 200.0, "ask": 100.0},  # crossed
    {"bid": math.nan},
    {"ask": None},
    {"bid": "abc"},
    {"last": -5.0},
    {"volume": True},
    {"oi": 2e12},  # above MAX_COUNT: corrupt
    {"oi": math.inf},
    {"bid": 1e-9, "ask": 2e-9},  # below intrinsic in the money
    {"bid": 1e9, "ask": 1e9},  # above the no-arbitrage bound
    {"oi": 0, "volume": 0},
]


def message_errors(chain: dict[str, Any]) -> list[dict[str, Any]]:
    """Chains whose message fields make enrich_chain raise ValueError."""
    n = len(chain["strikes"])
    return [
        dict(chain, timestamp="yesterday"),
        dict(chain, expiry=None),
        dict(chain, spot_price=None),
        dict(chain, spot_price=math.nan),
        dict(chain, spot_price=-5.0),
        dict(chain, strikes=[]),
        dict(chain, strikes=None),
        dict(chain, strikes=list(reversed(chain["strikes"]))),
        dict(chain, calls=None),
        dict(chain, calls=chain["calls"][:-1]),
        dict(chain, puts=[None] * n),
        dict(chain, calls=[[1, 2, 3, 4, 5]] * n),
        {k: v for k, v in chain.items() if k != "spot_price"},
    ]


def unusable_previous(chain: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {},
        {"strikes": None},
        {"strikes": ["a"], "calls": [], "puts": []},
        {"strikes": [2.0, 1.0], "calls": [{}, {}], "puts": [{}, {}]},
        {"calls": [None]},
        {"strikes": [], "calls": [], "puts": []},
        dict(chain, calls=chain["calls"][:-1]),
        dict(chain, puts=[None] * len(chain["strikes"])),
        dict(chain, strikes=[[k] for k in chain["strikes"]]),
    ]


def synthetic_items() -> list[Item]:
    """Chains of 1 to 101 strikes, spots on and between strikes, T from a year to expired,
    bad rows, previous snapshots with the same, other or unusable strikes, and bad messages."""
    items: list[Item] = []
    seq = 100
    for n in (1, 2, 3, 4, 5, 8, 9, 21, 33, 101):
        for spot in (24_010.0, 24_000.0, 24_025.0):
            base = build_chain(n=n, spot=spot, seq=seq)
            items.append((base, None))
            items.append((moved(base, seq + 1), base))
            seq += 2
    base = build_chain(seq=1)
    for stamp in (
        "2025-11-21T04:00:00.000Z",  # a year
        "2026-11-26T09:59:00.000Z",  # a minute
        "2026-11-26T09:59:59.999Z",  # a millisecond
        "2026-11-26T10:00:00.000Z",  # T = 0
        "2026-11-27T04:00:00.000Z",  # expired
    ):
        chain = dict(moved(base, 2), timestamp=stamp)
        items += [(chain, None), (chain, base)]
    items.append((dict(base, spot_price=30_000.0), None))  # every call deep in the money
    items.append((dict(base, spot_price=1.0), base))  # every put deep in the money
    decimal = build_chain(n=11, spot=100.15, step=0.1)  # ATM tie within an ulp
    items += [(decimal, None), (moved(decimal, 8, price_step=0.01), decimal)]
    # Previous snapshots listing other strikes: shifted, wider, narrower, off by rounding.
    items.append((build_chain(spot=24_110.0, seq=9), base))
    items.append((build_chain(n=31, seq=9), base))
    items.append((build_chain(n=5, seq=9), build_chain(n=41)))
    items.append((base, dict(base, strikes=[k * (1 + 1e-12) for k in base["strikes"]])))
    items.append((base, dict(base, strikes=[k + 1e-6 for k in base["strikes"]])))
    items.append((base, dict(base, strikes=[*base["strikes"][:-1], math.inf])))
    shared = moved(build_chain(n=25, seq=0), 0)  # one snapshot outside the batch, named twice
    items += [(moved(base, 11), shared), (moved(base, 12, oi_step=5), shared)]
    for patch in ROW_EDITS:
        for index in (0, 7, 10, 20):
            chain = edited(moved(base, 3), ("calls", index, patch), ("puts", index + 3, patch))
            items += [(chain, base), (base, chain)]
    # Counts that are not whole numbers: sums and max pain keep the one-chain arithmetic.
    fractional = edited(base, ("calls", 3, {"oi": 1234.5}), ("puts", 9, {"volume": 0.1}))
    items += [(fractional, None), (moved(base, 4), fractional), (fractional, base)]
    thirds = copy.deepcopy(base)
    for side in ("calls", "puts"):
        for i, row in enumerate(thirds[side]):
            row["oi"] = (i + 1) / 3 + 0.1 * (side == "puts")
            row["volume"] = 0.7 * i
    items += [(thirds, None), (thirds, base), (base, thirds)]
    no_oi = copy.deepcopy(base)
    for side in ("calls", "puts"):
        for row in no_oi[side]:
            row["oi"] = row["volume"] = 0
    items += [(no_oi, None), (no_oi, base)]
    items += [(bad, None) for bad in message_errors(base)]
    items += [(base, prev) for prev in unusable_previous(base)]
    items += [(bad, base) for bad in message_errors(build_chain(n=4))]
    return items


def test_empty_batch() -> None:
    assert enrich_chains([]) == []


def test_synthetic_batch_matches_one_by_one() -> None:
    items = synthetic_items()
    got = assert_batch_matches(items)
    errors = sum(isinstance(r, ValueError) for r in got)
    assert errors == len(message_errors(build_chain())) + len(message_errors(build_chain(n=4)))


def test_every_order_and_split_of_the_batch_agrees() -> None:
    """A chain's result does not depend on its neighbours: reversed and halved batches agree."""
    items = synthetic_items()
    whole = enrich_chains(items, processed_at=STAMP)
    backwards = enrich_chains(items[::-1], processed_at=STAMP)[::-1]
    half = len(items) // 2
    halves = enrich_chains(items[:half], processed_at=STAMP) + enrich_chains(
        items[half:], processed_at=STAMP
    )
    for i, result in enumerate(whole):
        identical(backwards[i], result, f"reversed {i}")
        identical(halves[i], result, f"halves {i}")


def test_a_bad_message_costs_only_its_own_chain() -> None:
    base = build_chain()
    items: list[Item] = [(base, None), (dict(base, spot_price=-1.0), None), (moved(base, 8), base)]
    got = enrich_chains(items, processed_at=STAMP)
    assert isinstance(got[1], ValueError)
    assert "spot_price" in str(got[1])
    identical(got[0], enrich_chain(base, processed_at=STAMP))
    identical(got[2], enrich_chain(items[2][0], base, processed_at=STAMP))


def test_options_are_passed_through() -> None:
    base = build_chain()
    items: list[Item] = [(base, None), (moved(base, 8), base)]
    options: dict[str, Any] = {
        "rate": 0.03,
        "dividend_yield": 0.012,
        "expiry_time_utc": dt.time(9, 30),
        "processed_at": STAMP,
    }
    got = enrich_chains(items, **options)
    for (chain, previous), result in zip(items, got, strict=True):
        identical(result, enrich_chain(chain, previous, **options))


def test_single_chain_stamps_processed_at_when_not_given() -> None:
    out = enrich_chain(build_chain())
    assert out["processed_at"].endswith("Z")
    assert list(out)[-5:] == ["calls", "puts", "processed_at", "forward", "forward_source"]


# --- the feed's own chains ----------------------------------------------------------------------


def feed_items(strikes: int, seconds: float, seed: int, products: list[str]) -> list[Item]:
    """Chains as the worker sees them (through JSON), each paired with its predecessor."""
    market = Market(
        seed,
        dt.datetime(2026, 11, 24, 9, 59, 58, tzinfo=dt.UTC),  # across an expiry instant
        resolve_products(products),
        strikes=strikes,
        rates=Rates(tick=0.0, quote=0.0, chain=4.0),
    )
    chains = [
        json.loads(json.dumps(m.payload))
        for m in market.advance(seconds)
        if m.channel == Channel.MARKET_OPTION_CHAIN
    ]
    chains.sort(key=lambda c: (c["product"], c["expiry"], c["seq"]))
    items: list[Item] = []
    for _, group in groupby(chains, key=lambda c: (c["product"], c["expiry"])):
        previous = None
        for chain in group:
            items.append((chain, previous))
            previous = chain
    return items


def test_feed_chains_match_one_by_one() -> None:
    items = feed_items(21, 4.0, 3, ["NIFTY", "BANKNIFTY", "TCS", "INFY", "FINNIFTY", "RELIANCE"])
    items += feed_items(101, 1.0, 5, ["NIFTY", "HDFCBANK"])
    items += feed_items(3, 1.0, 7, ["MIDCPNIFTY"])
    assert len(items) >= 300
    got = assert_batch_matches(items)
    assert not any(isinstance(r, ValueError) for r in got)
    with_previous = [r for r, (_, p) in zip(got, items, strict=True) if p is not None]
    assert all(isinstance(r, dict) and r["call_buildup_otm"] is not None for r in with_previous)


# --- mixed batches drawn by hypothesis ------------------------------------------------------------

GARBAGE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**13),
    st.none(),
    st.booleans(),
    st.sampled_from(["", "1.5", "x"]),
)
FIELDS = st.sampled_from(["bid", "ask", "last", "volume", "oi"])


def row_edits(draw: st.DrawFn, n: int, most: int) -> list[tuple[str, int, dict[str, Any]]]:
    drawn = draw(st.lists(st.tuples(st.integers(0, 2 * n - 1), FIELDS, GARBAGE), max_size=most))
    return [(("calls", "puts")[i // n], i % n, {field: value}) for i, field, value in drawn]


@st.composite
def chain_items(draw: st.DrawFn) -> Item:
    n = draw(st.integers(1, 101))
    spot = draw(st.sampled_from([24_010.0, 24_000.0, 24_025.0, 23_333.3]))
    step = draw(st.sampled_from([50.0, 25.0, 0.05]))
    if step < 1.0:
        spot = 100.0 + spot / 1e5
    hours = draw(st.sampled_from([-6.0, 0.0, 0.01, 1.0, 126.0, 3000.0]))
    stamp = dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC) - dt.timedelta(hours=hours)
    clean = build_chain(n=n, spot=spot, step=step, seq=draw(st.integers(1, 9)))
    clean["timestamp"] = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    chain = edited(clean, *row_edits(draw, n, 6))
    kind = draw(st.sampled_from(["none", "moved", "shifted", "other", "unusable", "bad message"]))
    if kind == "none":
        return chain, None
    if kind == "moved":
        oi_step = draw(st.integers(0, 500))
        return edited(moved(clean, clean["seq"] + 1, oi_step), *row_edits(draw, n, 3)), clean
    if kind == "shifted":
        shift = draw(st.sampled_from([-2.0, 1.0, 24.5]))
        return chain, build_chain(n=draw(st.integers(1, 40)), spot=spot + shift * step, step=step)
    if kind == "unusable":
        return chain, draw(st.sampled_from(unusable_previous(clean)))
    if kind == "bad message":
        return draw(st.sampled_from(message_errors(clean))), None
    return chain, edited(moved(clean, 99), *row_edits(draw, n, 4))


@settings(max_examples=60, deadline=None)
@given(st.lists(chain_items(), min_size=1, max_size=12))
def test_mixed_batches_match_one_by_one(items: list[Item]) -> None:
    assert_batch_matches(items)


def iter_results(items: list[Item]) -> Iterator[dict[str, Any]]:
    for result in enrich_chains(items, processed_at=STAMP):
        assert isinstance(result, dict)
        yield result


def test_batch_output_is_json_without_nan() -> None:
    base = build_chain()
    items: list[Item] = [(base, None), (edited(moved(base, 8), ("calls", 2, {"bid": "x"})), base)]
    for result in iter_results(items):
        json.dumps(result, allow_nan=False)
        assert np.isfinite(result["time_to_expiry"])


@pytest.mark.parametrize("n", [1, 21, 101])
def test_repeated_chain_objects_in_one_batch(n: int) -> None:
    """The same dict as chain and as previous of the next item, as the worker pairs them."""
    first = build_chain(n=n, seq=1)
    second = moved(first, 2)
    third = moved(second, 3)
    assert_batch_matches([(first, None), (second, first), (third, second), (third, third)])
