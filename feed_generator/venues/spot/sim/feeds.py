"""What each simulated venue says on a connection: Binance's combined book-ticker stream and
Coinbase's subscribe / subscriptions / ticker / heartbeat exchange (the shapes of the
protocol notes in ``spot/binance.py`` and ``spot/coinbase.py``).

A feed is told about a new connection (:meth:`accept`: the path and query, or an HTTP
error), each client text frame (:meth:`on_text`: the replies to send, or ``None`` to close)
and each tick (:meth:`tick`: the frames to send that connection). Times are the server
clock's seconds; the server owns sockets, faults and pings.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from feed_generator.venues.spot.sim.market import SpotMarket

__all__ = ["BinanceFeed", "CoinbaseFeed", "Feed", "Subscription", "iso_us"]


@dataclass
class Subscription:
    """What one connection asked for: products per channel (``ticker``, ``heartbeat``)."""

    channels: dict[str, set[str]] = field(default_factory=dict)
    next_heartbeat: float = 0.0

    def wants(self, channel: str, product: str) -> bool:
        return product in self.channels.get(channel, ())


def iso_us(now: float) -> str:
    """``2022-10-19T23:28:22.061769Z``: Coinbase's time format, of Unix seconds."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


class Feed:
    """The protocol of one simulated venue (see the module doc)."""

    path = "/"
    needs_subscribe = False

    def __init__(self, market: SpotMarket, *, seed: int = 7) -> None:
        self.market = market
        self.rng = random.Random(seed)

    def accept(self, query: Mapping[str, str]) -> Subscription | str:
        raise NotImplementedError

    def on_text(self, sub: Subscription, text: str, now: float) -> list[str] | None:
        raise NotImplementedError

    def tick(self, sub: Subscription, now: float, skip: set[str]) -> list[str]:
        raise NotImplementedError

    def advance(self) -> None:
        """Per tick, after the market moved: the venue's own counters."""


class BinanceFeed(Feed):
    """``/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker``: book tickers, no requests
    needed; ``SUBSCRIBE``-style requests are answered ``{"result": null, "id": …}``."""

    path = "/stream"

    def __init__(self, market: SpotMarket, *, seed: int = 7) -> None:
        super().__init__(market, seed=seed)
        self.update_id = {p: 400_900_217 for p in market.products}

    def accept(self, query: Mapping[str, str]) -> Subscription | str:
        known = {f"{p.lower()}usdt@bookTicker": p for p in self.market.products}
        streams = [s for s in query.get("streams", "").split("/") if s]
        unknown = [s for s in streams if s not in known]
        if unknown or not streams:
            return f"Invalid request: unknown streams {unknown}"
        return Subscription({"ticker": {known[s] for s in streams}})

    def on_text(self, sub: Subscription, text: str, now: float) -> list[str] | None:
        try:
            request = json.loads(text)
            request_id, _method = request["id"], request["method"]
        except (ValueError, KeyError, TypeError):
            return [json.dumps({"code": 3, "msg": "Invalid JSON: expected value"})]
        return [json.dumps({"result": None, "id": request_id})]

    def advance(self) -> None:
        for product in self.update_id:
            self.update_id[product] += self.rng.randint(1, 20)

    def tick(self, sub: Subscription, now: float, skip: set[str]) -> list[str]:
        frames = []
        for product in sub.channels.get("ticker", ()):
            if product in self.market.frozen or product in skip:
                continue
            bid, ask = self.market.book(product)
            data = {"u": self.update_id[product], "s": f"{product}USDT", "b": f"{bid:.8f}",
                    "B": "1.25000000", "a": f"{ask:.8f}", "A": "0.75000000"}  # fmt: skip
            stream = f"{product.lower()}usdt@bookTicker"
            frames.append(json.dumps({"stream": stream, "data": data}, separators=(",", ":")))
        return frames

    @staticmethod
    def shutdown_frame(now: float) -> str:
        """The ``serverShutdown`` event, combined-stream shape."""
        data = {"e": "serverShutdown", "E": int(now * 1000)}
        return json.dumps({"stream": "!serverShutdown", "data": data})


class CoinbaseFeed(Feed):
    """The Exchange feed at ``/``: a ``subscribe`` within the grace or the connection closes;
    then tickers each tick and a heartbeat per product every ``heartbeat_s``."""

    needs_subscribe = True

    def __init__(self, market: SpotMarket, *, seed: int = 7, heartbeat_s: float = 1.0) -> None:
        super().__init__(market, seed=seed)
        self.heartbeat_s = heartbeat_s
        self.sequence = {p: 37_475_248_783 for p in market.products}
        self.trade_id = {p: 370_843_401 for p in market.products}

    def accept(self, query: Mapping[str, str]) -> Subscription | str:
        return Subscription()

    def on_text(self, sub: Subscription, text: str, now: float) -> list[str] | None:
        try:
            request = json.loads(text)
            kind, ids = request["type"], request.get("product_ids", [])
            names = [c if isinstance(c, str) else c["name"] for c in request["channels"]]
        except (ValueError, KeyError, TypeError):
            return [self._error("Failed to subscribe", "malformed subscribe message")]
        known = {f"{p}-USD": p for p in self.market.products}
        bad = [i for i in ids if i not in known] + [n for n in names if n not in self._channels]
        if kind not in ("subscribe", "unsubscribe") or bad or not ids:
            return [self._error("Failed to subscribe", f"unknown products or channels: {bad}")]
        for name in names:
            products = sub.channels.setdefault(name, set())
            change = products.update if kind == "subscribe" else products.difference_update
            change({known[i] for i in ids})
        sub.next_heartbeat = now
        channels = [{"name": n, "product_ids": sorted(f"{p}-USD" for p in ps)}
                    for n, ps in sorted(sub.channels.items())]  # fmt: skip
        return [json.dumps({"type": "subscriptions", "channels": channels})]

    _channels = ("ticker", "heartbeat")

    @staticmethod
    def _error(message: str, reason: str) -> str:
        return json.dumps({"type": "error", "message": message, "reason": reason})

    def advance(self) -> None:
        for product in self.sequence:
            if product not in self.market.frozen:
                self.sequence[product] += self.rng.randint(1, 40)
                self.trade_id[product] += self.rng.randint(1, 3)

    def tick(self, sub: Subscription, now: float, skip: set[str]) -> list[str]:
        quiet = self.market.frozen | skip
        frames = [self._ticker(p, now) for p in self.market.products
                  if sub.wants("ticker", p) and p not in quiet]  # fmt: skip
        if sub.channels.get("heartbeat") and now >= sub.next_heartbeat:
            sub.next_heartbeat = now + self.heartbeat_s
            frames += [self._heartbeat(p, now) for p in sorted(sub.channels["heartbeat"])]
        return frames

    def _ticker(self, product: str, now: float) -> str:
        bid, ask = self.market.book(product)
        frame: dict[str, Any] = {
            "type": "ticker", "sequence": self.sequence[product], "product_id": f"{product}-USD",
            "price": f"{(bid + ask) / 2:.2f}", "open_24h": "94000.00", "volume_24h": "5120.5",
            "low_24h": "93000.00", "high_24h": "96500.00", "volume_30d": "160000.1",
            "best_bid": f"{bid:.2f}", "best_bid_size": "0.46688654", "best_ask": f"{ask:.2f}",
            "best_ask_size": "1.56637040", "side": "buy", "time": iso_us(now),
            "trade_id": self.trade_id[product], "last_size": "0.0125",
        }  # fmt: skip
        return json.dumps(frame)

    def _heartbeat(self, product: str, now: float) -> str:
        frame = {"type": "heartbeat", "sequence": self.sequence[product],
                 "last_trade_id": self.trade_id[product], "product_id": f"{product}-USD",
                 "time": iso_us(now)}  # fmt: skip
        return json.dumps(frame)
