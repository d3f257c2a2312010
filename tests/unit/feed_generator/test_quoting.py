"""Bid/ask construction around a model price."""

from __future__ import annotations

import json

import numpy as np
import pytest

from feed_generator.quoting import (
    SpreadParams,
    quote_sides,
    round_to_tick,
    tick_decimals,
    trade_prices,
)

PARAMS = SpreadParams(tick=0.05, rel_spread=0.004, wing_spread=0.3)


def _on_tick(values: np.ndarray, tick: float) -> bool:
    return bool(np.all(np.abs(values / tick - np.round(values / tick)) < 1e-6))


@pytest.mark.parametrize(
    ("tick", "decimals"), [(0.05, 2), (0.5, 1), (1.0, 0), (25.0, 0), (0.005, 3)]
)
def test_tick_decimals(tick: float, decimals: int) -> None:
    assert tick_decimals(tick) == decimals


def test_round_to_tick_prints_clean_json() -> None:
    rounded = round_to_tick(np.array([0.149, 0.151, 24_000.026, 3.0]), 0.05, 2)
    assert json.dumps(rounded.tolist()) == "[0.15, 0.15, 24000.05, 3.0]"


def test_quotes_bracket_the_model_price_on_the_tick_grid() -> None:
    rng = np.random.default_rng(1)
    theo = np.concatenate([rng.uniform(0.0, 0.2, 2000), np.exp(rng.uniform(-3, 8, 5000))])
    z = rng.normal(0.0, 3.0, theo.shape)
    bid, ask = quote_sides(theo, z, PARAMS, rng)
    assert np.all(bid >= 0.0)
    assert np.all(bid <= theo + 1e-9)
    assert np.all(ask >= theo - 1e-9)
    assert np.all(ask - bid >= PARAMS.tick - 1e-9)  # never crossed, never locked
    assert _on_tick(bid, PARAMS.tick)
    assert _on_tick(ask, PARAMS.tick)


def test_worthless_options_have_a_zero_bid_and_a_one_tick_ask() -> None:
    rng = np.random.default_rng(2)
    theo = np.full(100, 0.01)
    bid, ask = quote_sides(theo, np.full(100, 5.0), SpreadParams(max_jitter_ticks=0), rng)
    assert np.all(bid == 0.0)
    assert np.all(ask == 0.05)


def test_spreads_widen_in_the_wings_and_for_cheap_options() -> None:
    rng = np.random.default_rng(3)
    params = SpreadParams(max_jitter_ticks=0)
    theo = np.full(1000, 100.0)
    atm_bid, atm_ask = quote_sides(theo, np.zeros(1000), params, rng)
    wing_bid, wing_ask = quote_sides(theo, np.full(1000, 3.0), params, rng)
    assert np.mean(wing_ask - wing_bid) > np.mean(atm_ask - atm_bid)
    cheap_bid, cheap_ask = quote_sides(np.full(1000, 1.0), np.zeros(1000), params, rng)
    assert np.mean((cheap_ask - cheap_bid) / 1.0) > np.mean((atm_ask - atm_bid) / 100.0)


def test_trade_prices_print_inside_the_spread() -> None:
    rng = np.random.default_rng(4)
    bid = np.round(rng.uniform(0, 100, 5000) / 0.05) * 0.05
    bid[:500] = 0.0
    ask = bid + 0.05 * rng.integers(1, 10, bid.shape)
    last = trade_prices(bid, ask, PARAMS, rng)
    assert np.all(last >= np.maximum(bid, 0.05) - 1e-9)
    assert np.all(last <= ask + 1e-9)
    assert _on_tick(last, 0.05)


def test_invalid_spread_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="tick must be positive"):
        SpreadParams(tick=0.0)
    with pytest.raises(ValueError, match="min_ticks"):
        SpreadParams(min_ticks=0)
