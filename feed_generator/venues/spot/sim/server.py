"""A local Binance or Coinbase spot feed over WebSocket, with faults on demand.

:class:`SpotSim` serves one venue's protocol (:mod:`.feeds`) on 127.0.0.1: Binance at
``/stream?streams=…`` with a ping frame every ``ping_interval_s`` (a connection that leaves
one unanswered for ``pong_timeout_s`` is closed; more than 5 client frames in a second
close it too, as the venue's limit does), Coinbase at ``/`` (no ``subscribe`` within
``subscribe_grace_s``: closed). Every ``interval`` seconds the market moves and each
connection gets its frames.

Faults, through methods (tests in the same process) or ``POST /sim/control`` (loopback
only) with ``{"action": …}``:

- ``drop``: cut every socket (no close frame);
- ``silent`` / ``loud``: open but mute (no data, heartbeats, pings or pongs), and back;
- ``refuse`` / ``accept``: WebSocket upgrades answered HTTP 503, and back;
- ``hostile``: the frames named in ``frames`` (:mod:`.faults`; default all);
- ``bias_bps`` (``value``, optional ``product``): shift a book, for the reference's quarantine;
- ``freeze`` / ``unfreeze`` (optional ``product``): stop quoting it, heartbeats and pings go
  on, for the reference's staleness;
- ``skip`` (``count`` ticks): no tickers while the trade ids move on (a Coinbase gap);
- ``shutdown``: Binance's ``serverShutdown`` event; ``stats``: the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

from feed_generator.venues.simhost import SimConn, SimFaults, SimHost, control_body
from feed_generator.venues.spot.sim.faults import BINANCE_HOSTILE, COINBASE_HOSTILE
from feed_generator.venues.spot.sim.feeds import (
    BinanceFeed,
    CoinbaseFeed,
    Feed,
    Subscription,
    iso_us,
)
from feed_generator.venues.spot.sim.market import SpotMarket

__all__ = ["SpotSim", "VenueName"]

logger = logging.getLogger(__name__)
VenueName = Literal["binance", "coinbase"]
_COUNTS = ("connections", "refused", "pings_sent", "pongs_matched", "ping_closes",
           "rate_closes", "subscribe_closes")  # fmt: skip
INCOMING_PER_S = 5
"""Binance's limit of client frames a second (pings, pongs, requests) per connection."""


@dataclass(eq=False)
class _Conn(SimConn):
    sub: Subscription | None = None
    """What it subscribed to; ``None`` until a Coinbase client sends ``subscribe``."""
    opened: float = 0.0
    ping_payload: bytes | None = None
    """The payload of the ping awaiting its pong."""
    ping_sent: float = 0.0
    incoming: deque[float] = field(default_factory=deque)


class SpotSim(SimHost[_Conn]):
    """The simulator of ``venue``; ``await start()`` in a running loop, or
    :meth:`start_in_thread`. ``clock`` gives Unix seconds."""

    def __init__(
        self,
        venue: VenueName,
        market: SpotMarket | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float = 0.1,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 60.0,
        heartbeat_s: float = 1.0,
        subscribe_grace_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        self.venue, self.clock, self.name = venue, clock, f"{venue}-sim"
        self.market = market or SpotMarket()
        self.feed: Feed = (
            BinanceFeed(self.market) if venue == "binance"
            else CoinbaseFeed(self.market, heartbeat_s=heartbeat_s)
        )  # fmt: skip
        self.hostile = BINANCE_HOSTILE if venue == "binance" else COINBASE_HOSTILE
        self.interval = interval
        self.ping_interval_s, self.pong_timeout_s = ping_interval_s, pong_timeout_s
        self.subscribe_grace_s = subscribe_grace_s
        self.faults = SimFaults()
        self.skip_ticks = 0
        """Ticks left without tickers (the trade ids move on): a gap for Coinbase."""
        self.counts = dict.fromkeys(_COUNTS, 0)

    @property
    def ws_url(self) -> str:
        """The base URL a connector is given (Binance: it appends ``/stream?streams=…``)."""
        return f"ws://{self.host}:{self.port}" + ("" if self.venue == "binance" else "/")

    def routes(self, app: web.Application) -> None:
        app.router.add_get(self.feed.path, self._websocket)
        app.router.add_post("/sim/control", self._control)

    def background(self) -> list[Any]:
        return [self._tick_forever()]

    # -- faults ------------------------------------------------------------------------------

    def inject_hostile(self, *names: str) -> None:
        """Send the named hostile frames (all when none is named) to every connection."""
        now_time = iso_us(self.clock())
        frames = [self.hostile[n].decode("utf-8", "replace") for n in names or self.hostile]
        self.inject(*(frame.replace("{now}", now_time) for frame in frames))

    def send_shutdown(self) -> None:
        """Binance's ``serverShutdown`` event to every connection."""
        self.inject(BinanceFeed.shutdown_frame(self.clock()))

    def set_bias(self, bps: float, product: str | None = None) -> None:
        """Shift ``product``'s book (every product's when ``None``) by ``bps`` basis points."""
        names = [product.upper()] if product else self.market.products
        self.call_soon(lambda: self.market.bias_bps.update(dict.fromkeys(names, bps)))

    def set_frozen(self, frozen: bool, product: str | None = None) -> None:
        """Stop (or resume) quoting ``product`` (every product when ``None``)."""
        names = {product.upper()} if product else set(self.market.products)
        change = self.market.frozen.update if frozen else self.market.frozen.difference_update
        self.call_soon(lambda: change(names))  # on the server's loop, between two ticks

    async def _control(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        try:
            action, product = str(body.get("action", "")), body.get("product")
            if not self._act(action, body, product):
                return web.json_response({"error": f"unknown action {action!r}"}, status=400)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return web.json_response({"error": f"bad control request: {exc}"}, status=400)
        return web.json_response({"ok": True, "counts": self.counts, "mids": self.market.mids})

    def _act(self, action: str, body: dict[str, Any], product: str | None) -> bool:
        """Do ``action``; False when there is no such action."""
        if action == "drop":
            self.drop_connections()
        elif action in ("silent", "loud"):
            self.faults.silent = action == "silent"
        elif action in ("refuse", "accept"):
            self.faults.refuse_ws = action == "refuse"
        elif action == "hostile":
            self.inject_hostile(*(body.get("frames") or ()))
        elif action == "bias_bps":
            self.set_bias(float(body.get("value", 0.0)), product)
        elif action in ("freeze", "unfreeze"):
            self.set_frozen(action == "freeze", product)
        elif action == "skip":
            self.skip_ticks = int(body.get("count", 1))
        elif action == "shutdown":
            self.send_shutdown()
        return action in _ACTIONS

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_ws:
            self.counts["refused"] += 1
            return web.Response(status=503, text="websocket refused (simulated)")
        sub = self.feed.accept(request.query)
        if isinstance(sub, str):
            return web.json_response({"code": 2, "msg": sub}, status=400)
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        now = self.clock()
        conn = _Conn(ws, request.transport, None if self.feed.needs_subscribe else sub, now)
        self.conns.add(conn)
        self.counts["connections"] += 1
        try:
            async for msg in ws:
                if self.faults.silent:
                    continue  # ignores requests, pings and pongs alike
                if self._over_limit(conn):
                    self.counts["rate_closes"] += 1
                    await ws.close(message=b"too many requests")
                    break
                await self._client_frame(conn, sub, msg.type, msg.data)
        finally:
            self.conns.discard(conn)
        return ws

    def _over_limit(self, conn: _Conn) -> bool:
        """Binance's limit: more than :data:`INCOMING_PER_S` client frames in a second."""
        if self.venue != "binance":
            return False
        now = self.clock()
        conn.incoming.append(now)
        while conn.incoming and conn.incoming[0] <= now - 1.0:
            conn.incoming.popleft()
        return len(conn.incoming) > INCOMING_PER_S

    async def _client_frame(self, conn: _Conn, sub: Subscription, kind: WSMsgType,
                            data: Any) -> None:  # fmt: skip
        if kind == WSMsgType.PING:
            await conn.ws.pong(data)
        elif kind == WSMsgType.PONG:
            if conn.ping_payload is not None and data == conn.ping_payload:
                self.counts["pongs_matched"] += 1
                conn.ping_payload = None
        elif kind == WSMsgType.TEXT:
            replies = self.feed.on_text(sub, data, self.clock())
            if self.feed.needs_subscribe and sub.channels:
                conn.sub = sub
            for reply in replies or ():
                await self.send(conn, reply)

    # -- ticks -------------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._tick()
            except Exception:  # a bug in one tick must not stop the simulator
                logger.exception("spot simulator tick failed")

    async def _tick(self) -> None:
        self.market.step(self.clock())
        self.feed.advance()
        skip: set[str] = set()
        if self.skip_ticks > 0:
            self.skip_ticks -= 1
            skip = set(self.market.products)
        if self.faults.silent:
            return
        now = self.clock()
        for conn in list(self.conns):
            if await self._overdue(conn, now):
                continue
            if conn.sub is not None:
                for frame in self.feed.tick(conn.sub, now, skip):
                    await self.send(conn, frame)

    async def _overdue(self, conn: _Conn, now: float) -> bool:
        """Close a connection that left a ping unanswered or never subscribed; send a ping
        when due. True when the connection was closed."""
        reason = None
        if conn.ping_payload is not None and now - conn.ping_sent > self.pong_timeout_s:
            reason, key = b"pong timeout", "ping_closes"
        elif conn.sub is None and now - conn.opened > self.subscribe_grace_s:
            reason, key = b"no subscribe", "subscribe_closes"
        if reason is not None:
            self.counts[key] += 1
            self.conns.discard(conn)
            asyncio.get_running_loop().create_task(conn.ws.close(message=reason))
            return True
        due = conn.ping_sent + self.ping_interval_s
        if self.venue == "binance" and conn.ping_payload is None and now >= due:
            conn.ping_payload, conn.ping_sent = str(int(now * 1000)).encode(), now
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.ping(conn.ping_payload)
                self.counts["pings_sent"] += 1
        return False


_ACTIONS = frozenset({"drop", "silent", "loud", "refuse", "accept", "hostile", "bias_bps",
                      "freeze", "unfreeze", "skip", "shutdown", "stats"})  # fmt: skip
