"""Deribit's transports for the connector: a JSON-RPC WebSocket connection and REST calls.

:class:`RpcConnection` owns one WebSocket: it sends requests (each paid from the
local :class:`~feed_generator.venues.ratebudget.RateBudget` first), reads every
frame through :func:`~feed_generator.venues.deribit.parser.parse_frame`, resolves
replies, answers ``test_request`` heartbeats with ``public/test``, pings when the
:class:`~feed_generator.venues.silence.SilenceWatchdog` says so and ends the
connection when it stays silent. Notifications and rejects go to callbacks.
:class:`RestClient` makes ``GET {rest_url}/public/<method>`` calls behind the
:class:`~feed_generator.venues.breaker.RestBreaker`. Times are seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec

from feed_generator.venues.breaker import CircuitOpenError, CircuitState, RestBreaker
from feed_generator.venues.deribit.messages import Heartbeat, PositivePrice
from feed_generator.venues.deribit.parser import (
    MAX_FRAME_BYTES,
    IndexUpdate,
    Parsed,
    Rejected,
    Reply,
    TickerUpdate,
    parse_frame,
    rpc_request,
)
from feed_generator.venues.ratebudget import RateBudget
from feed_generator.venues.silence import SilenceAction, SilenceWatchdog

__all__ = ["RestClient", "RestError", "RpcCallError", "RpcConnection", "spend"]

log = logging.getLogger(__name__)
TOO_MANY_REQUESTS = 10028
"""Deribit's ``too_many_requests``: it also ends the WebSocket session."""


class _RestIndex(msgspec.Struct, frozen=True):
    index_price: PositivePrice


_INDEX = msgspec.json.Decoder(_RestIndex)


class RpcCallError(Exception):
    """A request answered with an error (``code``), or not answered (``code`` ``None``)."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"{method}: {code} {message}")
        self.code = code


class RestError(Exception):
    """A REST call failed: transport, HTTP status, a bad body or an error envelope."""


async def spend(budget: RateBudget, cost: float | None = None) -> None:
    """Take ``cost`` credits from ``budget``, waiting (without blocking the loop) for them."""
    while not budget.try_acquire(cost):
        await asyncio.sleep(max(budget.wait_time(cost), 0.001))


class RpcConnection:
    """One open WebSocket; :meth:`read_forever` must run for replies to arrive.

    ``on_update`` gets every ticker and index notification, ``on_reject`` every frame
    refused by the parser (reason, excerpt).
    """

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        *,
        budget: RateBudget,
        watchdog: SilenceWatchdog,
        on_update: Callable[[TickerUpdate | IndexUpdate], None],
        on_reject: Callable[[Rejected], None],
        timeout_s: float = 10.0,
    ) -> None:
        self.ws = ws
        self.budget, self.watchdog = budget, watchdog
        self.on_update, self.on_reject = on_update, on_reject
        self.timeout_s = timeout_s
        self.rate_limited = False
        """The venue refused a request with 10028 (and ends the session)."""
        self.replaced = False
        """The watchdog found the connection silent and closed it."""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Reply]] = {}

    async def send(self, method: str, params: dict[str, Any]) -> asyncio.Future[Reply]:
        """Send a request (after paying for it); the future gets its reply."""
        await spend(self.budget)
        request_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.ws.send_str(rpc_request(request_id, method, params).decode())
        return future

    async def call(self, method: str, params: dict[str, Any]) -> msgspec.Raw:
        """The ``result`` of ``method``; :class:`RpcCallError` on an error or no reply."""
        future = await self.send(method, params)
        try:
            reply = await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            raise RpcCallError(method, None, "no reply") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled, not the reply (the connection closed)
            raise RpcCallError(method, None, "connection closed") from None
        if reply.error is not None:
            raise RpcCallError(method, reply.error.code, reply.error.message)
        return reply.result or msgspec.Raw(b"null")

    async def read_forever(self) -> None:
        """Read until the connection closes, goes silent or is refused with 10028.

        The frames are read by a task of their own, without a timeout on each read (with
        one, aiohttp makes a timer and a context for every read: ~2 µs a frame, more than
        parsing it); this task wakes only when the watchdog's decision can change.
        """
        reading = asyncio.create_task(self._read())
        try:
            while not reading.done():
                await asyncio.wait([reading], timeout=self.watchdog.next_check_in() or 0.001)
                if not reading.done() and await self._silence():
                    failed = reading.done() and not reading.cancelled() and reading.exception()
                    if failed:  # while the silence was acted on: say why, not only that
                        log.warning("deribit reader failed", extra={"error": repr(failed)})
                    return
            reading.result()  # its exception, if it failed
        finally:
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            for future in self._pending.values():
                if not future.done():
                    future.cancel()
            self._pending.clear()
            await self.ws.close()

    async def _read(self) -> None:
        ws, watchdog = self.ws, self.watchdog
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        while not ws.closed:
            msg = await ws.receive()
            if msg.type is text or msg.type is binary:
                watchdog.touch()
                await self._frame(msg.data)
            elif msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                watchdog.touch()
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _silence(self) -> bool:
        """Act on the watchdog; True when the connection is to be replaced."""
        action = self.watchdog.check()
        if action is SilenceAction.PING:
            await self.send("public/test", {})  # its reply (or any frame) touches the watchdog
        elif action is SilenceAction.REPLACE:
            log.warning(
                "deribit connection silent; replacing it",
                extra={"silent_s": round(self.watchdog.silence(), 3)},
            )
            self.replaced = True
            return True
        return False

    async def _frame(self, data: str | bytes) -> None:
        parsed: Parsed = parse_frame(data, max_bytes=MAX_FRAME_BYTES)
        if isinstance(parsed, TickerUpdate | IndexUpdate):
            self.on_update(parsed)
        elif isinstance(parsed, Heartbeat):
            if parsed.type == "test_request":
                # Unanswered, Deribit closes the connection: answer even with an empty budget.
                self.budget.try_acquire()
                request_id = next(self._ids)
                await self.ws.send_str(rpc_request(request_id, "public/test", {}).decode())
        elif isinstance(parsed, Reply):
            self._reply(parsed)
        else:
            self.on_reject(parsed)

    def _reply(self, reply: Reply) -> None:
        if reply.error is not None and reply.error.code == TOO_MANY_REQUESTS:
            self.rate_limited = True
            self.budget.drain()
        future = self._pending.pop(reply.id, None) if reply.id is not None else None
        if future is not None and not future.done():
            future.set_result(reply)
        elif reply.error is not None:
            log.warning(
                "deribit error reply",
                extra={"code": reply.error.code, "message": reply.error.message},
            )


class RestClient:
    """``GET {rest_url}/public/<method>?<params>`` through ``breaker``, paid from ``budget``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rest_url: str,
        *,
        budget: RateBudget,
        breaker: RestBreaker,
        timeout_s: float = 10.0,
    ) -> None:
        self.session, self.rest_url = session, rest_url.rstrip("/")
        self.budget, self.breaker = budget, breaker
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def call(self, method: str, params: dict[str, str]) -> msgspec.Raw:
        """The ``result`` of ``public/<method>``; :class:`RestError` or ``CircuitOpenError``."""
        # pybreaker's call is synchronous: refuse early when open, then feed it the outcome.
        if self.breaker.state is CircuitState.OPEN:
            raise CircuitOpenError(self.breaker.name, self.breaker.retry_after_s())
        await spend(self.budget)
        outcome: msgspec.Raw | RestError
        try:
            outcome = await self._get(method, params)
        except RestError as exc:
            outcome = exc

        def result() -> msgspec.Raw:
            if isinstance(outcome, RestError):
                raise outcome
            return outcome

        return self.breaker.call(result)

    async def index_price(self, currency: str) -> float:
        """``public/get_index_price`` of ``{currency}_usd``: the coin's USD index."""
        raw = await self.call("get_index_price", {"index_name": f"{currency.lower()}_usd"})
        try:
            return _INDEX.decode(raw).index_price
        except msgspec.DecodeError as exc:  # hostile or broken: a failure, never a price
            raise RestError(f"get_index_price: {exc}") from None

    async def _get(self, method: str, params: dict[str, str]) -> msgspec.Raw:
        url = f"{self.rest_url}/public/{method}"
        try:
            async with self.session.get(url, params=params, timeout=self.timeout) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RestError(f"{method}: {type(exc).__name__} {exc}") from None
        if status != 200:
            raise RestError(f"{method}: HTTP {status}")
        parsed = parse_frame(body)
        if isinstance(parsed, Rejected):
            raise RestError(f"{method}: {parsed.reason}")
        if not isinstance(parsed, Reply) or parsed.error is not None or parsed.result is None:
            error = parsed.error if isinstance(parsed, Reply) else None
            raise RestError(f"{method}: error {error.code if error else '?'}")
        return parsed.result
