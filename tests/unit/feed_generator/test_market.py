"""The market model: messages, sequencing, reproducibility and realism."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from common.messages import decode_message
from common.names import MARKET_CHANNELS, Channel
from common.timestamps import format_ts, parse_ts
from feed_generator.market import Market, Rates, seq_base
from feed_generator.messages import Message, format_strike, option_symbol
from feed_generator.products import PRODUCTS, resolve_products
from feed_generator.runner import encode
from optionsmath import bs_greeks, implied_vol

R, Q = 0.065, 0.0
START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
"""A Monday, 09:30 in Mumbai: 26 expiries in all, none expiring in the next two minutes.

NIFTY and FINNIFTY list three (their weekly of the 24th is also the monthly),
BANKNIFTY four (weeklies on Wednesdays) and MIDCPNIFTY four (today's Monday
weekly expires at 10:00 UTC), every stock three monthlies.
"""
EXPIRIES_AT_START = {"NIFTY": 3, "BANKNIFTY": 4, "FINNIFTY": 3, "MIDCPNIFTY": 4}
START_SEQ = 1_795_406_400_000_000
"""``START`` in microseconds since 1970: the first ``seq`` of every stream of a run from it."""


def _market(seed: int = 42, start: dt.datetime = START, **kwargs: object) -> Market:
    return Market(seed, start, r=R, q=Q, expiry_time=dt.time(10, 0), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def minutes() -> list[Message]:
    """Two simulated minutes of every product at the default rates."""
    return _market().advance(120.0)


def test_every_message_validates_against_its_schema(minutes: list[Message]) -> None:
    assert {m.channel for m in minutes} == set(MARKET_CHANNELS)
    for message in minutes:
        decode_message(message.channel, json.dumps(message.payload))  # raises naming the field


def test_rates_match_the_configuration(minutes: list[Message]) -> None:
    counts = Counter((m.channel, m.payload["product"]) for m in minutes)
    market = _market()
    for name in PRODUCTS:
        n_expiries = EXPIRIES_AT_START.get(name, 3)
        assert len(market.expiries(name)) == n_expiries, name
        assert counts[Channel.MARKET_UNDERLYING, name] == 5 * 120
        assert counts[Channel.MARKET_OPTION_QUOTE, name] == 10 * 120
        assert counts[Channel.MARKET_OPTION_CHAIN, name] == 120 * n_expiries, name
    assert sum(len(market.expiries(name)) for name in PRODUCTS) == 26


def test_seq_starts_at_the_start_instant_and_rises_by_one_per_channel_and_product(
    minutes: list[Message],
) -> None:
    seqs: dict[tuple[Channel, str], list[int]] = defaultdict(list)
    for m in minutes:
        seqs[m.channel, m.payload["product"]].append(m.payload["seq"])
    assert len(seqs) == 3 * len(PRODUCTS)
    assert START_SEQ == int(START.timestamp() * 1_000_000) == _market().seq_base
    for key, values in seqs.items():
        assert values == list(range(START_SEQ, START_SEQ + len(values))), key


def test_a_later_run_continues_above_an_earlier_one() -> None:
    """Runs never reuse a (product, seq): the store's unique index takes both."""
    nifty = resolve_products(["NIFTY"])
    first = _market(products=nifty, rates=Rates(tick=500.0, quote=2000.0, chain=200.0))
    early = first.advance(5.0)
    late = _market(start=START + dt.timedelta(seconds=5), products=nifty).advance(1.0)
    for channel in MARKET_CHANNELS:
        before = [m.payload["seq"] for m in early if m.channel is channel]
        after = [m.payload["seq"] for m in late if m.channel is channel]
        assert max(before) < min(after), channel


@pytest.mark.parametrize(
    ("start", "base"),
    [
        (dt.datetime(1971, 1, 1, tzinfo=dt.UTC), 31_536_000_000_000),
        (
            dt.datetime(
                2026, 11, 23, 9, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5.5))
            ),
            START_SEQ + 123456,
        ),
        (dt.datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), 4_133_980_799_999_999),
    ],
)
def test_seq_base_is_exact_microseconds_and_an_exact_json_integer(
    start: dt.datetime, base: int
) -> None:
    assert seq_base(start) == base
    assert base < 2**52  # room for any run below the 2**53 a JSON number holds exactly
    assert json.loads(json.dumps({"seq": base + 10**12}))["seq"] == base + 10**12


@pytest.mark.parametrize(
    "start",
    [dt.datetime(1970, 12, 31, 23, 59, tzinfo=dt.UTC), dt.datetime(2101, 1, 1, tzinfo=dt.UTC)],
)
def test_starts_outside_the_seq_range_are_refused(start: dt.datetime) -> None:
    with pytest.raises(ValueError, match="1971–2100"):
        _market(start=start)


def test_timestamps_follow_the_simulated_clock(minutes: list[Message]) -> None:
    offsets = [m.offset for m in minutes]
    assert offsets == sorted(offsets)
    for m in minutes[::97]:
        assert m.payload["timestamp"] == format_ts(START + dt.timedelta(seconds=m.offset))
    assert parse_ts(minutes[-1].payload["timestamp"]) <= START + dt.timedelta(seconds=120)


def test_quotes_carry_consistent_symbols(minutes: list[Message]) -> None:
    pattern = re.compile(r"^([A-Z]+)(\d{6})([CP])(\d+(?:\.\d+)?)$")
    for m in (m for m in minutes if m.channel is Channel.MARKET_OPTION_QUOTE):
        p = m.payload
        match = pattern.match(p["symbol"])
        assert match, p["symbol"]
        assert match[1] == p["product"]
        assert match[2] == dt.date.fromisoformat(p["expiry"]).strftime("%y%m%d")
        assert match[3] == p["option_type"][0]
        assert float(match[4]) == p["strike"]


def test_symbol_format() -> None:
    from common.messages import OptionType

    assert option_symbol("NIFTY", dt.date(2025, 11, 25), OptionType.CALL, 24000.0) == (
        "NIFTY251125C24000"
    )
    assert format_strike(12.5) == "12.5"
    assert format_strike(2900.0) == "2900"


def test_underlying_prices_are_on_the_tick_and_move(minutes: list[Message]) -> None:
    ticks = [m.payload for m in minutes if m.channel is Channel.MARKET_UNDERLYING]
    for name, spec in PRODUCTS.items():
        prices = np.array([t["price"] for t in ticks if t["product"] == name])
        assert np.all(np.abs(prices / 0.05 - np.round(prices / 0.05)) < 1e-6)
        assert len(set(prices.tolist())) > 5
        assert abs(prices[-1] / spec.spot - 1.0) < 0.05
    assert sum(t["volume"] for t in ticks) > 0


def test_chains_list_the_configured_number_of_strikes_around_the_money(
    minutes: list[Message],
) -> None:
    for m in (m for m in minutes if m.channel is Channel.MARKET_OPTION_CHAIN):
        p = m.payload
        strikes = p["strikes"]
        assert len(strikes) == 21
        step = PRODUCTS[p["product"]].strike_step
        atm = round(p["spot_price"] / step) * step
        assert strikes[10] == atm
        assert [r["strike"] for r in p["calls"]] == strikes == [r["strike"] for r in p["puts"]]


def test_same_seed_and_start_give_identical_messages() -> None:
    one = encode(_market(seed=5).advance(20.0))
    two = encode(_market(seed=5).advance(20.0))
    assert one == two
    assert one != encode(_market(seed=6).advance(20.0))


def test_output_does_not_depend_on_how_the_clock_is_advanced() -> None:
    whole = encode(_market(seed=8).advance(10.0))
    stepped_market = _market(seed=8)
    stepped: list[Message] = []
    for dt_s in [0.001, 0.37, 1.0, 0.0, 2.5, 0.129, 6.0]:
        stepped += stepped_market.advance(dt_s)
    assert encode(stepped) == whole


def test_products_are_independent_of_the_selection() -> None:
    alone = _market(seed=9, products=resolve_products(["INFY"])).advance(10.0)
    together = _market(seed=9).advance(10.0)
    ticks = [m.payload for m in together if m.channel is Channel.MARKET_UNDERLYING]
    infy = [t for t in ticks if t["product"] == "INFY"]
    alone_ticks = [m.payload for m in alone if m.channel is Channel.MARKET_UNDERLYING]
    assert [t["price"] for t in alone_ticks] == [t["price"] for t in infy]


def test_expiries_roll_once_they_expire() -> None:
    expiry = dt.date(2026, 11, 24)
    start = dt.datetime(2026, 11, 24, 9, 59, 50, tzinfo=dt.UTC)
    market = _market(start=start, products=resolve_products(["RELIANCE"]))
    assert market.expiries("RELIANCE")[0] == expiry
    before, after = market.advance(10.0), market.advance(10.0)
    chains_before = {
        m.payload["expiry"] for m in before if m.channel is Channel.MARKET_OPTION_CHAIN
    }
    chains_after = {m.payload["expiry"] for m in after if m.channel is Channel.MARKET_OPTION_CHAIN}
    assert expiry.isoformat() in chains_before
    assert expiry.isoformat() not in chains_after
    assert len(chains_after) == 3
    assert market.expiries("RELIANCE") == [
        dt.date(2026, 12, 29),
        dt.date(2027, 1, 26),
        dt.date(2027, 2, 23),
    ]
    quotes_after = [m for m in after if m.channel is Channel.MARKET_OPTION_QUOTE]
    assert all(q.payload["expiry"] != expiry.isoformat() for q in quotes_after)
    seqs = [m.payload["seq"] for m in before + after if m.channel is Channel.MARKET_OPTION_CHAIN]
    assert seqs == list(range(market.seq_base, market.seq_base + len(seqs)))


def test_chain_mid_prices_give_back_the_smile_vol() -> None:
    """The enricher's implied vol from chain mids matches the smile, up to the spread's width."""
    market = _market(seed=3)
    messages = market.advance(30.0)
    checked = 0
    for name in PRODUCTS:
        for expiry in market.expiries(name):
            snap = market.snapshot(name, expiry)
            assert snap is not None
            strikes = np.array(snap.strikes)
            bid, ask = np.array(snap.bid), np.array(snap.ask)
            is_call = np.array([[True], [False]])
            mid = 0.5 * (bid + ask)
            iv = np.asarray(implied_vol(mid, snap.spot, strikes, snap.T, R, Q, is_call))
            vega = np.asarray(
                bs_greeks(snap.spot, strikes, snap.T, R, Q, snap.vol, is_call)["vega"]
            )
            tolerance = 0.5 * (ask - bid) / (vega / 0.01) * 1.05 + 1e-6
            forward = snap.spot * np.exp((R - Q) * snap.T)
            otm = np.where(is_call, strikes >= forward, strikes <= forward)
            usable = otm & (bid > 0.0) & (vega > 1e-3)  # the quotes a smile is fitted to
            assert usable.sum() >= 5
            assert np.all(np.isfinite(iv[usable]))
            assert np.all(np.abs(iv - snap.vol)[usable] <= tolerance[usable])
            atm = np.argmin(np.abs(strikes - snap.spot))
            assert abs(iv[0, atm] - snap.vol[0, atm]) < 0.01  # ATM: within a vol point
            checked += 1
    assert checked >= 25
    assert messages


def test_disabled_ticks_still_move_the_market() -> None:
    market = _market(seed=4, rates=Rates(tick=0.0, quote=0.0, chain=1.0))
    messages = market.advance(30.0)
    assert {m.channel for m in messages} == {Channel.MARKET_OPTION_CHAIN}
    spots = {m.payload["spot_price"] for m in messages if m.payload["product"] == "NIFTY"}
    assert len(spots) > 5


def test_message_rate_predicts_the_output() -> None:
    rates = Rates(tick=20.0, quote=50.0, chain=3.0)
    market = _market(seed=2, rates=rates)
    expected = market.message_rate()
    assert len(market.advance(5.0)) == pytest.approx(5.0 * expected, rel=0.01)
    assert Rates().scaled(2.0) == Rates(tick=10.0, quote=20.0, chain=2.0)


@pytest.mark.parametrize("bad", [{"tick": -1.0}, {"quote": float("nan")}, {"chain": 1e9}])
def test_invalid_rates_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        Rates(**bad)


def test_invalid_market_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        _market(seed=-1)
    with pytest.raises(ValueError, match="strikes"):
        _market(strikes=0)
    market = _market()
    market.advance(1.0)
    with pytest.raises(ValueError, match="backwards"):
        market.advance_to(0.5)
