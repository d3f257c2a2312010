"""A local Deribit: JSON-RPC over WebSocket at ``/ws/api/v2`` and REST at ``/api/v2/public/…``.

Speaks the documented shapes (see the package's protocol note): ``public/subscribe`` /
``unsubscribe`` to ``ticker.{instrument}.100ms`` and ``deribit_price_index.{btc,eth}_usd``,
notifications every ``interval`` seconds, ``public/set_heartbeat`` with ``test_request``
heartbeats (a connection that leaves one unanswered until the next is closed),
``public/test``, ``public/get_instruments``, ``public/get_book_summary_by_currency`` and
``public/get_index_price``. Each connection has a request budget (a token bucket); the
request that finds it empty is refused with 10028 ``too_many_requests`` and the
connection closed, as the venue does.

Faults on demand, through methods (tests in the same process) or ``POST /sim/control``
(``{"action": …}``: drop, silent, loud, test_request, refuse_ws, accept_ws, rest_fault,
hostile, too_many_requests): see :class:`~.faults.Faults`, :data:`~.faults.HOSTILE_FRAMES`
and :meth:`DeribitSim.too_many_requests`. The action ``stats`` answers how long the recent
ticks took to send (:meth:`DeribitSim.tick_stats`).

A notification's ``timestamp`` is, by default, the instant of its tick, taken before the
tick's frames are built and sent (``stamp="tick"``); with ``stamp="frame"`` it is the
instant the frame is written to the socket, so the time the simulator spends on a tick
is not counted as the client's delay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from aiohttp import WSMsgType, web

from feed_generator.venues.deribit.sim.faults import HOSTILE_FRAMES, Faults
from feed_generator.venues.deribit.sim.market import SimMarket
from feed_generator.venues.deribit.sim.rpc import (
    HEARTBEAT_TEST,
    RpcError,
    notification,
    reply,
    rest_reply,
)
from feed_generator.venues.simhost import SimConn, SimHost, control_body

logger = logging.getLogger(__name__)
INDEXES = {"deribit_price_index.btc_usd": "BTC", "deribit_price_index.eth_usd": "ETH"}
Stamp = Literal["tick", "frame"]
"""What a notification's ``timestamp`` is: its tick's instant, or when it is written."""


@dataclass(eq=False)
class Conn(SimConn):
    """One WebSocket client: its request budget, channels and heartbeat."""

    tokens: float
    refilled: float
    channels: set[str] = field(default_factory=set)
    heartbeat: float | None = None
    next_beat: float = 0.0
    test_deadline: float | None = None


class DeribitSim(SimHost[Conn]):
    """The simulator on ``host:port`` (0: a free port); ``await start()`` in a running loop,
    or :meth:`start_in_thread`. Notifications go out every ``interval`` seconds;
    ``public/set_heartbeat`` below ``min_heartbeat`` seconds is refused; each connection
    may send ``request_burst`` requests at once, refilled at ``request_rate`` a second.
    ``clock`` gives Unix seconds (the notifications' timestamps, see ``stamp``)."""

    name = "deribit-sim"

    def __init__(
        self,
        market: SimMarket | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float = 0.1,
        min_heartbeat: float = 10.0,
        request_burst: float = 100.0,
        request_rate: float = 20.0,
        stamp: Stamp = "tick",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        self.clock = clock
        self.market = market or SimMarket(self._now())
        self.interval = interval
        self.stamp = stamp
        self.min_heartbeat = min_heartbeat
        self.request_burst, self.request_rate = request_burst, request_rate
        self.faults = Faults()
        self.refuse_requests = 0
        """The next this many WebSocket requests are refused with 10028, budget or not."""
        self.counts = {"connections": 0, "refused_10028": 0, "heartbeat_closes": 0}
        self.tick_times: deque[tuple[float, float]] = deque(maxlen=1000)
        """Of each recent tick sent: seconds from its instant to its first and to its last
        notification written."""
        self._closing: set[asyncio.Task[bool]] = set()

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/api/v2"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v2"

    # -- lifecycle ---------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/ws/api/v2", self._websocket)
        app.router.add_get("/api/v2/public/{method}", self._rest)
        app.router.add_post("/sim/control", self._control)

    def background(self) -> list[Coroutine[Any, Any, None]]:
        return [self._tick_forever()]

    async def start(self) -> int:
        """Bind and serve; returns the port."""
        port = await super().start()
        logger.info("deribit simulator listening", extra={"ws": self.ws_url})
        return port

    # -- faults ------------------------------------------------------------------------------

    def set_silent(self, silent: bool = True) -> None:
        """Go silent (sockets stay open, nothing is sent or answered) or speak again."""
        self.faults.silent = silent

    def send_test_requests(self, grace: float) -> None:
        """Send ``test_request`` now; a connection that has not answered in ``grace`` s closes."""

        async def send() -> None:
            for conn in list(self.conns):
                conn.test_deadline = self.clock() + grace
                await self.send(conn, HEARTBEAT_TEST)

        self.call_soon(send)

    def too_many_requests(self, count: int = 1) -> None:
        """Refuse the next ``count`` WebSocket requests (of any connection) with 10028
        ``too_many_requests`` and close their connections, as an empty budget does. It lands
        on the client's next request: a subscription, a ping, its answer to a ``test_request``
        (:meth:`send_test_requests` asks for one now). ``0`` takes the fault back."""
        self.refuse_requests = max(count, 0)

    def rest_fault(
        self, count: int, *, status: int = 503, error_code: int = 10040, delay: float = 0.0
    ) -> None:
        """Fail the next ``count`` REST calls (HTTP ``status``, or with 200 an error envelope
        of ``error_code``) and delay every REST call by ``delay`` seconds."""
        self.faults.rest_failures = count
        self.faults.rest_status, self.faults.rest_error_code = status, error_code
        self.faults.rest_delay = delay

    async def _control(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        action = body.get("action")
        if action == "drop":
            self.drop_connections()
        elif action in ("silent", "loud"):
            self.set_silent(action == "silent")
        elif action == "test_request":
            self.send_test_requests(float(body.get("grace", 1.0)))
        elif action in ("refuse_ws", "accept_ws"):
            self.faults.refuse_ws = action == "refuse_ws"
        elif action == "rest_fault":
            self.rest_fault(int(body.get("count", 1)), status=int(body.get("status", 503)),
                            error_code=int(body.get("error_code", 10040)),
                            delay=float(body.get("delay", 0.0)))  # fmt: skip
        elif action == "too_many_requests":
            self.too_many_requests(int(body.get("count", 1)))
        elif action == "hostile":
            names = body.get("frames") or list(HOSTILE_FRAMES)
            self.inject(*(HOSTILE_FRAMES[name] for name in names))
        elif action == "stats":
            return web.json_response({"ok": True, "counts": self.counts, **self.tick_stats()})
        else:
            return web.json_response({"error": f"unknown action {action!r}"}, status=400)
        return web.json_response({"ok": True, "counts": self.counts})

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_ws:
            return web.Response(status=503, text="websocket refused (simulated)")
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = Conn(ws, request.transport, self.request_burst, self.clock())
        self.conns.add(conn)
        self.counts["connections"] += 1
        try:
            async for msg in ws:
                if self.faults.silent:
                    continue  # ignores requests and pings alike
                if msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    await self._request(conn, msg.data)
        finally:
            self.conns.discard(conn)
        return ws

    def _take_token(self, conn: Conn) -> bool:
        """Pay for one request from ``conn``'s budget; ``False``: refuse it with 10028."""
        if self.refuse_requests > 0:  # the too_many_requests fault: refused as if empty
            self.refuse_requests -= 1
            return False
        now = self.clock()
        conn.tokens = min(
            self.request_burst, conn.tokens + (now - conn.refilled) * self.request_rate
        )
        conn.refilled = now
        if conn.tokens < 1.0:
            return False
        conn.tokens -= 1.0
        return True

    async def _request(self, conn: Conn, text: str) -> None:
        try:
            request = json.loads(text)
            request_id, method = request.get("id"), request["method"]
            params = request.get("params") or {}
        except (ValueError, KeyError, AttributeError, TypeError):
            await self.send(conn, reply(None, error=(11050, "bad_request")))
            return
        if not self._take_token(conn):
            self.counts["refused_10028"] += 1
            await self.send(conn, reply(request_id, error=(10028, "too_many_requests")))
            await conn.ws.close()
            return
        try:
            result = self._ws_method(conn, method, params)
        except RpcError as exc:
            await self.send(conn, reply(request_id, error=(exc.code, exc.message)))
            return
        await self.send(conn, reply(request_id, result=result))

    def _ws_method(self, conn: Conn, method: str, params: dict[str, Any]) -> Any:
        if method in ("public/subscribe", "public/unsubscribe"):
            channels = [c for c in params.get("channels", []) if self._known(c)]
            if method == "public/subscribe":
                conn.channels.update(channels)
            else:
                conn.channels.difference_update(channels)
            return channels
        if method == "public/set_heartbeat":
            interval = float(params.get("interval", 0))
            if interval < self.min_heartbeat:
                raise RpcError(11029, "invalid_arguments")
            conn.heartbeat, conn.next_beat = interval, self.clock() + interval
            return "ok"
        if method == "public/disable_heartbeat":
            conn.heartbeat = conn.test_deadline = None
            return "ok"
        if method == "public/test":
            conn.test_deadline = None
            return {"version": "1.2.26"}
        return self._public(method, params)

    def _known(self, channel: str) -> bool:
        if channel in INDEXES:
            return True
        parts = channel.split(".")
        return len(parts) == 3 and parts[0] == "ticker" and parts[2] == "100ms"

    def _public(self, method: str, params: dict[str, Any]) -> Any:
        """The methods both transports answer."""
        currency = str(params.get("currency", ""))
        if method in ("public/get_instruments", "public/get_book_summary_by_currency"):
            if currency not in self.market.books:
                raise RpcError(11029, "invalid_arguments")
            if params.get("kind", "option") != "option":
                return []
            if method == "public/get_instruments":
                return self.market.instruments(currency)
            return self.market.book_summaries(currency)
        if method == "public/get_index_price":
            base = str(params.get("index_name", "")).removesuffix("_usd").upper()
            if base not in self.market.books:
                raise RpcError(11029, "invalid_arguments")
            price = self.market.index(base)["price"]
            return {"index_price": price, "estimated_delivery_price": price}
        raise RpcError(-32601, "Method not found")

    async def send(self, conn: Conn, frame: bytes | str) -> bool:
        """Write ``frame`` to ``conn`` as text (Deribit's frames are JSON text; bytes, such as
        :data:`HOSTILE_FRAMES`, are decoded, undecodable bytes replaced); ``False`` if gone."""
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        return await super().send(conn, text)

    # -- REST ------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        faults = self.faults
        if faults.rest_delay > 0:
            await asyncio.sleep(faults.rest_delay)
        if faults.rest_failures > 0:
            faults.rest_failures -= 1
            if faults.rest_status != 200:
                return web.Response(status=faults.rest_status, text="simulated failure")
            body = rest_reply(error=(faults.rest_error_code, "simulated"))
            return web.Response(text=body, content_type="application/json")
        method = "public/" + request.match_info["method"]
        try:
            body = rest_reply(result=self._public(method, dict(request.query)))
        except RpcError as exc:
            body = rest_reply(error=(exc.code, exc.message))
            return web.Response(status=400, text=body, content_type="application/json")
        return web.Response(text=body, content_type="application/json")

    # -- the notifications -------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._tick()
            except Exception:  # a bug in one tick must not stop the simulator
                logger.exception("simulator tick failed")

    def tick_stats(self) -> dict[str, Any]:
        """Milliseconds from a tick's instant to its first and last notification written,
        p50 and p99 over the recent ticks (``None`` before any)."""
        times = np.array(self.tick_times, dtype=np.float64).reshape(-1, 2) * 1000

        def pct(column: int, q: float) -> float | None:
            return round(float(np.percentile(times[:, column], q)), 2) if len(times) else None

        return {
            "stamp": self.stamp,
            "ticks": len(times),
            "first_frame_ms_p50": pct(0, 50),
            "first_frame_ms_p99": pct(0, 99),
            "last_frame_ms_p50": pct(1, 50),
            "last_frame_ms_p99": pct(1, 99),
        }

    async def _tick(self) -> None:
        instant = self.clock()
        self.market.step(dt.datetime.fromtimestamp(instant, dt.UTC))
        if self.faults.silent or not self.conns:
            return
        data = self._data()
        encoded: dict[str, str] = {}  # stamped by tick: each frame encoded once for all
        first: float | None = None
        now = self.clock()
        for conn in list(self.conns):
            if conn.test_deadline is not None and now > conn.test_deadline:
                self.counts["heartbeat_closes"] += 1
                self.conns.discard(conn)
                # A close waits for the peer's answer: in its own task, so a dead peer does
                # not hold up the others' notifications.
                closing = asyncio.create_task(conn.ws.close(message=b"test_request unanswered"))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
                continue
            if conn.heartbeat is not None and now >= conn.next_beat:
                conn.next_beat = now + conn.heartbeat
                if conn.test_deadline is None:
                    conn.test_deadline = now + conn.heartbeat
                await self.send(conn, HEARTBEAT_TEST)
            for channel in conn.channels:
                item = data.get(channel)
                if item is None:
                    continue
                if self.stamp == "frame":
                    item["timestamp"] = int(self.clock() * 1000)
                    frame = notification(channel, item)
                else:
                    frame = encoded.get(channel) or notification(channel, item)
                    encoded[channel] = frame
                await self.send(conn, frame)
                if first is None:
                    first = self.clock()
        if first is not None:
            self.tick_times.append((first - instant, self.clock() - instant))

    def _data(self) -> dict[str, dict[str, Any]]:
        """This tick's notification data of every channel anyone subscribed to; each frame
        is encoded as it is sent, so the first goes out before the last is built."""
        wanted = set().union(*(conn.channels for conn in self.conns))
        data: dict[str, dict[str, Any]] = {}
        for channel, base in INDEXES.items():
            if channel in wanted and base in self.market.books:
                data[channel] = self.market.index(base)
        for base in self.market.books:
            for name, row in self.market.tickers(base):
                channel = f"ticker.{name}.100ms"
                if channel in wanted:
                    data[channel] = row
        return data
