"""A local Kite: the ticker WebSocket at ``/`` and REST ``/instruments`` and ``/quote``.

The ticker takes ``?api_key=…&access_token=…``; an unknown key, a wrong token or one
expired (:meth:`KiteSim.expire_token`) is refused with HTTP 403 and the TokenException
JSON before the upgrade. Text requests ``subscribe`` / ``unsubscribe`` / ``mode`` (new
subscriptions start in ``quote`` mode, as the client libraries assume); each change is
answered at once with the instruments' current packets, then every ``interval`` seconds
with a binary frame of every subscribed instrument in its mode; a connection sent
nothing for ``heartbeat`` seconds gets the one-byte heartbeat. REST checks
``X-Kite-Version: 3`` (400 InputException without it) and ``Authorization: token
key:token`` (403 TokenException). ``/quote`` answers up to 500 instruments a call and
``quote_rate`` calls a second (a bucket of ``quote_burst``); past that, 429 with the
error JSON. ``/instruments`` is the CSV dump, gzipped when the client accepts it (the
docs call it "a gzipped CSV dump"; clients see it through ``Content-Encoding``).

Assumed, not documented by Kite: past 3,000 instruments on a connection the whole
``subscribe`` is refused with a text ``{"type": "error", "data": …}`` frame and the
connection kept; a fourth connection of a key is accepted, sent such an error frame and
closed (code 1008); a request that is no JSON object gets an error frame.

Faults through methods or ``POST /sim/control`` (``{"action": …}``, from loopback only):
drop, silent, loud, refuse_ws, accept_ws, rest_fault (count, status, delay), hostile
(frames: names of :data:`~.faults.HOSTILE_FRAMES`), expire_token, set_token
(access_token), stats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from feed_generator.venues.kite.instruments import format_instruments
from feed_generator.venues.kite.packets import Mode
from feed_generator.venues.kite.sim import encode
from feed_generator.venues.kite.sim.faults import (
    HOSTILE_FRAMES,
    SIM_ACCESS_TOKEN,
    SIM_API_KEY,
    Faults,
)
from feed_generator.venues.kite.sim.market import KiteMarket
from feed_generator.venues.simhost import SimConn, SimHost, control_body

logger = logging.getLogger(__name__)
MAX_TOKENS = 3000
MAX_CONNECTIONS = 3
QUOTE_MAX = 500
_TRADABLE = {Mode.FULL: encode.full, Mode.QUOTE: encode.quote, Mode.LTP: encode.ltp}
_INDEX = {
    Mode.FULL: lambda row: encode.index(row, with_time=True),
    Mode.QUOTE: lambda row: encode.index(row, with_time=False),
    Mode.LTP: encode.ltp,
}


def error_body(message: str, error_type: str) -> dict[str, Any]:
    """Kite's error JSON."""
    return {"status": "error", "message": message, "data": None, "error_type": error_type}


def text_error(message: str) -> str:
    return json.dumps({"type": "error", "data": message})


@dataclass(eq=False)
class Conn(SimConn):
    """One ticker client: its key and its subscriptions' modes."""

    api_key: str = ""
    modes: dict[int, Mode] = field(default_factory=dict)
    last_sent: float = 0.0


class KiteSim(SimHost[Conn]):
    """The simulator; ``await start()`` in a running loop, or ``start_in_thread()``."""

    name = "kite-sim"

    def __init__(
        self,
        market: KiteMarket | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float = 1.0,
        heartbeat: float = 1.0,
        quote_rate: float = 1.0,
        quote_burst: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        self.clock = clock
        self.market = market or KiteMarket(dt.datetime.fromtimestamp(clock(), dt.UTC))
        self.interval, self.heartbeat = interval, heartbeat
        self.keys = {SIM_API_KEY: SIM_ACCESS_TOKEN}
        """Each api key's valid access token."""
        self.faults = Faults()
        self.quote_rate, self.quote_burst = quote_rate, quote_burst
        self._quote_tokens, self._refilled = quote_burst, clock()
        self.counts = dict.fromkeys(("connections", "refused_403", "refused_429", "frames"), 0)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._websocket)
        app.router.add_get("/instruments", self._instruments)
        app.router.add_get("/instruments/{exchange}", self._instruments)
        app.router.add_get("/quote", self._quote)
        app.router.add_post("/sim/control", self._control)

    def background(self) -> list[Coroutine[Any, Any, None]]:
        return [self._tick_forever(), self._beat_forever()]

    # -- faults ------------------------------------------------------------------------------

    def set_silent(self, silent: bool = True) -> None:
        """Go silent (sockets stay open, nothing sent, requests ignored) or speak again."""
        self.faults.silent = silent

    def expire_token(self, api_key: str = SIM_API_KEY) -> None:
        """The daily logout: ``api_key``'s token is refused from now on (403 at the next
        handshake and REST call) and its connections are cut."""
        self.faults.expired.add(self.keys[api_key])
        logger.info("kite simulator expired an access token", extra={"fault": "expire_token"})
        self.drop_connections(lambda conn: conn.api_key == api_key)

    def set_token(self, access_token: str, api_key: str = SIM_API_KEY) -> None:
        """A new login: ``access_token`` is ``api_key``'s valid token."""
        self.keys[api_key] = access_token
        self.faults.expired.discard(access_token)

    def rest_fault(self, count: int, *, status: int = 503, delay: float = 0.0) -> None:
        """Fail the next ``count`` REST calls with HTTP ``status``; delay every call."""
        self.faults.rest_failures, self.faults.rest_status = count, status
        self.faults.rest_delay = delay

    async def _control(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        action = body.get("action")
        if action == "drop":
            self.drop_connections()
        elif action in ("silent", "loud"):
            self.set_silent(action == "silent")
        elif action in ("refuse_ws", "accept_ws"):
            self.faults.refuse_ws = action == "refuse_ws"
        elif action == "rest_fault":
            self.rest_fault(int(body.get("count", 1)), status=int(body.get("status", 503)),
                            delay=float(body.get("delay", 0.0)))  # fmt: skip
        elif action == "hostile":
            self.inject(*(HOSTILE_FRAMES[name] for name in body.get("frames") or HOSTILE_FRAMES))
        elif action == "expire_token":
            self.expire_token(str(body.get("api_key", SIM_API_KEY)))
        elif action == "set_token":
            self.set_token(str(body["access_token"]), str(body.get("api_key", SIM_API_KEY)))
        elif action != "stats":
            return web.json_response({"error": f"unknown action {action!r}"}, status=400)
        return web.json_response({"ok": True, "counts": self.counts})

    # -- the ticker --------------------------------------------------------------------------

    def _valid(self, api_key: str, access_token: str) -> bool:
        return self.keys.get(api_key) == access_token and access_token not in self.faults.expired

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_ws:
            return web.Response(status=503, text="websocket refused (simulated)")
        key, token = request.query.get("api_key", ""), request.query.get("access_token", "")
        if not self._valid(key, token):
            self.counts["refused_403"] += 1
            why = {"expired": token in self.faults.expired, "known_key": key in self.keys}
            logger.info("kite simulator refused a ticker handshake", extra={"status": 403, **why})
            body = error_body("Invalid `api_key` or `access_token`.", "TokenException")
            return web.json_response(body, status=403)
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        if sum(conn.api_key == key for conn in self.conns) >= MAX_CONNECTIONS:
            logger.info("kite simulator refused a connection over the cap",
                        extra={"max_connections": MAX_CONNECTIONS})  # fmt: skip
            await ws.send_str(text_error(f"Maximum {MAX_CONNECTIONS} connections per api_key"))
            await ws.close(code=1008)
            return ws
        conn = Conn(ws, request.transport, key, last_sent=self.clock())
        self.conns.add(conn)
        self.counts["connections"] += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and not self.faults.silent:
                    await self._request(conn, msg.data)
        finally:
            self.conns.discard(conn)
        return ws

    async def _request(self, conn: Conn, text: str) -> None:
        try:
            message = json.loads(text)
            action, value = message["a"], message["v"]
            if action == "mode":
                mode, tokens = Mode(value[0]), [int(t) for t in value[1]]
            else:
                mode, tokens = Mode.QUOTE, [int(t) for t in value]
        except (ValueError, KeyError, TypeError, IndexError):
            await self._send(conn, text_error(f"Invalid message: {text[:100]}"))
            return
        if action == "subscribe":
            new = [t for t in dict.fromkeys(tokens) if t not in conn.modes]
            if len(conn.modes) + len(new) > MAX_TOKENS:
                logger.info("kite simulator refused a subscription over the cap",
                            extra={"subscribed": len(conn.modes), "asked": len(new)})  # fmt: skip
                await self._send(
                    conn, text_error(f"Maximum {MAX_TOKENS} instruments per connection")
                )
                return
            conn.modes.update(dict.fromkeys(new, mode))
        elif action == "unsubscribe":
            for t in tokens:
                conn.modes.pop(t, None)
            return
        elif action == "mode":
            conn.modes.update({t: mode for t in tokens if t in conn.modes})
        else:
            await self._send(conn, text_error(f"Unknown action {str(action)[:40]}"))
            return
        await self._send_ticks(conn, tokens, self.market.tradable_rows(), self.market.index_rows())

    async def _send_ticks(self, conn: Conn, tokens: Any, tradable: Any, indexes: Any) -> None:
        """The packets of ``tokens`` (those ``conn`` subscribed) in their modes, in frames."""
        packets = []
        for token in tokens:
            mode = conn.modes.get(token)
            if mode is not None and (row := tradable.get(token)) is not None:
                packets.append(_TRADABLE[mode](row))
            elif mode is not None and (row := indexes.get(token)) is not None:
                packets.append(_INDEX[mode](row))
        for frame in encode.frames(packets):
            await self._send(conn, frame)

    async def _send(self, conn: Conn, frame: bytes | str) -> None:
        if await self.send(conn, frame):
            conn.last_sent = self.clock()
            self.counts["frames"] += 1

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.market.step(dt.datetime.fromtimestamp(self.clock(), dt.UTC))
                if self.faults.silent or not self.conns:
                    continue
                tradable, indexes = self.market.tradable_rows(), self.market.index_rows()
                for conn in list(self.conns):
                    await self._send_ticks(conn, list(conn.modes), tradable, indexes)
            except Exception:  # a bug in one tick must not stop the simulator
                logger.exception("kite simulator tick failed")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat / 4)
            now = self.clock()
            for conn in list(self.conns):
                if not self.faults.silent and now - conn.last_sent >= self.heartbeat:
                    await self._send(conn, encode.HEARTBEAT)

    # -- REST --------------------------------------------------------------------------------

    async def _checked(self, request: web.Request) -> web.Response | None:
        """The error answer a REST call gets (fault, version, token), or ``None``."""
        faults = self.faults
        if faults.rest_delay > 0:
            await asyncio.sleep(faults.rest_delay)
        if faults.rest_failures > 0:
            faults.rest_failures -= 1
            body = error_body("Simulated failure", "NetworkException")
            return web.json_response(body, status=faults.rest_status)
        if request.headers.get("X-Kite-Version") != "3":
            body = error_body("Invalid or missing X-Kite-Version header", "InputException")
            return web.json_response(body, status=400)
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        key, _, token = credentials.partition(":")
        if scheme != "token" or not self._valid(key, token):
            self.counts["refused_403"] += 1
            body = error_body("Incorrect `api_key` or `access_token`.", "TokenException")
            return web.json_response(body, status=403)
        return None

    async def _instruments(self, request: web.Request) -> web.Response:
        refused = await self._checked(request)
        if refused is not None:
            return refused
        exchange = request.match_info.get("exchange")
        rows = [r for r in self.market.instruments() if exchange in (None, r.exchange)]
        body = format_instruments(rows)
        headers = {"Content-Type": "text/csv"}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        return web.Response(body=body, headers=headers)

    def _take_quote_token(self) -> bool:
        now = self.clock()
        refill = (now - self._refilled) * self.quote_rate
        self._quote_tokens = min(self.quote_burst, self._quote_tokens + refill)
        self._refilled = now
        if self._quote_tokens < 1.0:
            return False
        self._quote_tokens -= 1.0
        return True

    async def _quote(self, request: web.Request) -> web.Response:
        refused = await self._checked(request)
        if refused is not None:
            return refused
        if not self._take_quote_token():
            self.counts["refused_429"] += 1
            return web.json_response(
                error_body("Too many requests", "NetworkException"), status=429
            )
        keys = request.query.getall("i", [])
        if not keys or len(keys) > QUOTE_MAX:
            body = error_body(f"Between 1 and {QUOTE_MAX} instruments a call", "InputException")
            return web.json_response(body, status=400)
        by_key = {
            f"{r.exchange}:{r.tradingsymbol}": r.instrument_token for r in self.market.instruments()
        }
        tradable, indexes = self.market.tradable_rows(), self.market.index_rows()
        data: dict[str, Any] = {}
        for key in keys:
            token = by_key.get(key)
            if token in tradable:
                data[key] = encode.quote_entry(tradable[token])
            elif token in indexes:
                data[key] = encode.index_entry(indexes[token])
        return web.json_response({"status": "success", "data": data})
