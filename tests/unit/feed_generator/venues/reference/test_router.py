"""The reference router on a fake clock: one seq series per product however many venues price
it, throttled emission (and at once on a change of state), the timer, chains' spot_price,
the parity source, the synthetic market untouched, malformed ticks dead-lettered."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import pytest

from common.feeds import FeedState
from common.messages import decode_message, encode_message
from common.messages.market import OptionChain, UnderlyingTick
from common.names import Channel
from common.products import ConventionsRegistry
from common.settings import ReferenceSettings
from feed_generator.market import seq_base
from feed_generator.publisher import Encoded
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.reference.router import ReferenceRouter
from tests.support.chains import build_chain
from tests.support.clock import FakeClock
from tests.support.messages import QUOTE, TICK
from tests.support.sinks import ListSink

WALL = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
SEQ0 = seq_base(WALL)
UNDERLYING, CHAIN = Channel.MARKET_UNDERLYING.value, Channel.MARKET_OPTION_CHAIN.value
STEP = 1 / 64
"""Seconds between two batches: exact in binary, so 16 steps are exactly 0.25 s."""


class Sink(ListSink):
    def ticks(self, product: str = "BTC") -> list[UnderlyingTick]:
        found = [decode_message(Channel.MARKET_UNDERLYING, m[2]) for m in self.messages
                 if m[1] == UNDERLYING]  # fmt: skip
        return [t for t in found if isinstance(t, UnderlyingTick) and t.product == product]


def stamp(second: float) -> str:
    ms = round(second * 1000)
    return f"2026-12-05T12:{ms // 60_000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}Z"


def tick(venue: str, price: float, at: float, product: str = "BTC", **extra: Any) -> Encoded:
    message = UnderlyingTick(
        type="underlying", product=product, price=price, volume=extra.pop("volume", 0),
        timestamp=stamp(at), seq=extra.pop("seq", 1), venue=venue,
        currency=extra.pop("currency", "USD"),
    )  # fmt: skip
    return (at, UNDERLYING, encode_message(message).decode())


def make(
    clock: FakeClock, healths: dict[str, FeedHealth] | None = None, **settings: Any
) -> tuple[ReferenceRouter, Sink, list[tuple[str, str, str]]]:
    sink, rejects = Sink(), []
    router = ReferenceRouter(
        [sink], ReferenceSettings(**settings), ConventionsRegistry.standard(),
        healths=healths, on_reject=lambda *r: rejects.append(r), clock=clock, wall=lambda: WALL,
    )  # fmt: skip
    return router, sink, rejects


def test_one_contiguous_seq_series_per_product_across_interleaved_venues() -> None:
    clock = FakeClock(0.0)
    router, sink, _ = make(clock)
    for i in range(10):  # binance first: the primary venue is still BTC's own, deribit
        router.send([tick("binance", 100_000.0 + i, clock(), currency="USDT", seq=500 + i),
                     tick("deribit", 100_010.0 + i, clock(), seq=9_000 + i),
                     tick("deribit", 3_000.0 + i, clock(), product="ETH", seq=70 + i)])  # fmt: skip
        clock.advance(0.3)  # beyond the emission interval: every batch emits
    for product, count in (("BTC", 10), ("ETH", 10)):
        ticks = sink.ticks(product)
        assert [t.seq for t in ticks] == list(range(SEQ0, SEQ0 + count))
        assert all(t.sources for t in ticks)  # only the router's ticks: the venues' are consumed
    btc = sink.ticks("BTC")
    assert (btc[-1].venue, btc[-1].currency) == ("deribit", "USD")
    assert btc[-1].price == pytest.approx((100_009.0 + 100_019.0) / 2)
    assert [(s.source, s.price, s.state.value) for s in btc[-1].sources or []] == [
        ("binance", 100_009.0, "live"), ("deribit", 100_019.0, "live")]  # fmt: skip


def test_emission_is_throttled_to_the_interval_and_the_timer_sends_the_last_price() -> None:
    clock = FakeClock(0.0)
    router, sink, _ = make(clock, emit_interval_s=0.25)
    for i in range(64):  # 64 ticks a second, one per batch
        if i:
            clock.advance(STEP)
        router.send([tick("binance", 100_000.0 + i, clock(), volume=1)])
    ticks = sink.ticks()
    assert [t.price for t in ticks] == [100_000.0, 100_016.0, 100_032.0, 100_048.0]
    # the last price waits for its turn, 0.75 + 0.25 s: the timer wakes just past it
    wait = router.tick()
    assert wait == pytest.approx(1.0 - 63 * STEP + 0.005)
    assert len(sink.ticks()) == 4
    clock.advance(wait)
    assert router.tick() == 1.0  # nothing due before a source could go stale: the longest wait
    ticks = sink.ticks()
    assert ticks[-1].price == 100_063.0
    assert [t.volume for t in ticks] == [1, 16, 16, 16, 15]  # every tick's volume, once


def test_a_change_of_state_is_published_at_once_and_a_silent_source_goes_stale_on_time() -> None:
    clock = FakeClock(0.0)
    kraken = FeedHealth("kraken", clock=clock)
    router, sink, _ = make(clock, healths={"kraken": kraken})
    router.send([tick("binance", 100.0, 0.0), tick("kraken", 100.1, 0.0),
                 tick("deribit", 100.2, 0.0)])  # fmt: skip
    clock.advance(0.01)
    kraken.set_state(FeedState.DOWN)
    router.send([tick("binance", 100.0, 0.01)])  # 10 ms after the last tick: not due, but …
    last = sink.ticks()[-1]
    assert {s.source: s.state.value for s in last.sources or []}["kraken"] == "down"
    clock.advance(4.97)
    assert router.tick() == pytest.approx(0.02 + 0.005)  # the next deadline: 5 s after t=0
    clock.advance(0.02)
    router.tick()  # silent 5.0 s: not stale yet
    assert sink.ticks()[-1].seq == last.seq
    clock.advance(0.02)
    router.tick()
    stale = sink.ticks()[-1]
    assert {s.source: s.state.value for s in stale.sources or []} == {
        "binance": "stale", "deribit": "stale", "kraken": "down"}  # fmt: skip
    assert (stale.price, stale.timestamp) == (last.price, last.timestamp)  # held, ageing
    assert router.health.state is FeedState.DOWN


def test_chains_take_the_reference_as_spot_price_and_are_otherwise_the_same() -> None:
    clock = FakeClock(0.0)
    router, sink, _ = make(clock)
    deribit = build_chain(product="BTC", spot_price=99_990.0, venue="deribit", currency="USD",
                          forward=100_050.0, forward_source="venue")  # fmt: skip
    untouched = (0.0, CHAIN, json.dumps(build_chain(product="ETH", venue="deribit")))
    router.send([tick("deribit", 100_000.0, 0.0), tick("binance", 100_020.0, 0.0)])
    router.send([(0.0, CHAIN, json.dumps(deribit)), untouched])
    chain_in = decode_message(Channel.MARKET_OPTION_CHAIN, json.dumps(deribit))
    sent = [m for m in sink.messages if m[1] == CHAIN]
    chain_out = decode_message(Channel.MARKET_OPTION_CHAIN, sent[0][2])
    assert isinstance(chain_in, OptionChain)
    assert isinstance(chain_out, OptionChain)
    assert chain_out == msgspec.structs.replace(chain_in, spot_price=100_010.0)
    assert sent[1] is untouched  # no reference for ETH yet: as it came
    assert "parity" not in router._products["BTC"].book.sources  # the venue's forward


def test_nse_chains_feed_the_parity_source_of_the_nearest_expiry() -> None:
    clock = FakeClock(0.0)
    router, sink, _ = make(clock, emit_interval_s=0.25)
    router.send([tick("kite", 24_000.0, 0.0, product="NIFTY", currency="INR")])
    near = build_chain(venue="kite", currency="INR")  # priced at 24,010 at r 6.5 %, q 0
    far = build_chain(venue="kite", currency="INR", expiry="2026-12-31", spot_price=25_000.0)
    clock.advance(0.5)
    router.send([(0.5, CHAIN, json.dumps(far)), (0.5, CHAIN, json.dumps(near))])
    sources = router._products["NIFTY"].book.sources
    assert sources["parity"].price == pytest.approx(24_010.0, rel=1e-9)
    assert sources["parity"].venue == "kite"
    ticks = sink.ticks("NIFTY")
    assert ticks[-1].price == pytest.approx(24_005.0, rel=1e-9)  # 4 bps apart: their mean
    assert (ticks[-1].venue, ticks[-1].currency) == ("kite", "INR")
    chains = [decode_message(Channel.MARKET_OPTION_CHAIN, m[2]) for m in sink.messages
              if m[1] == CHAIN]  # fmt: skip
    assert [c.spot_price for c in chains if isinstance(c, OptionChain)] == [24_000.0, 24_000.0]


def test_the_synthetic_market_passes_untouched() -> None:
    clock = FakeClock(0.0)
    router, sink, rejects = make(clock)
    batch = [(0.0, UNDERLYING, json.dumps(TICK)), (0.1, "market:option_quote", json.dumps(QUOTE)),
             (0.2, CHAIN, json.dumps(build_chain()))]  # fmt: skip
    router.send(batch)
    clock.advance(10.0)
    router.tick()
    assert sink.batches == [batch]
    assert all(a is b for a, b in zip(sink.batches[0], batch, strict=True))
    assert rejects == []
    assert router.health.snapshot().products == []


def test_malformed_ticks_are_dead_lettered_with_their_reason_and_the_feed_goes_on() -> None:
    clock = FakeClock(0.0)
    router, sink, rejects = make(clock)
    bad = json.loads(tick("deribit", 1.0, 0.0)[2]) | {"price": -5.0}
    router.send([(0.0, UNDERLYING, "{not json"), (0.0, UNDERLYING, json.dumps(bad)),
                 tick("deribit", 100.0, 0.0)])  # fmt: skip
    assert [(c, raw) for c, raw, _ in rejects] == [
        (UNDERLYING, "{not json"), (UNDERLYING, json.dumps(bad))]  # fmt: skip
    assert rejects[0][2].startswith("not JSON")
    assert "$.price" in rejects[1][2]
    assert [t.price for t in sink.ticks()] == [100.0]
    assert router.rejected == 2


def test_the_health_snapshot_lists_each_products_sources() -> None:
    clock = FakeClock(0.0)
    router, _, _ = make(clock)
    router.send([tick("deribit", 100.0, 0.0), tick("binance", 100.1, 0.0)])
    clock.advance(1.5)
    (product,) = router.health.snapshot().products
    assert product.product == "BTC"
    assert product.messages == 1
    assert [(s.source, s.state.value, s.price, s.age_s) for s in product.sources or []] == [
        ("binance", "live", 100.1, 1.5), ("deribit", "live", 100.0, 1.5)]  # fmt: skip
    assert router.health.state is FeedState.LIVE
