"""What a venue simulator needs to run: an aiohttp app on a port, in a loop or its own thread.

A simulator subclasses :class:`SimHost`, adds its routes in :meth:`SimHost.routes` and its
background coroutines in :meth:`SimHost.background` (cancelled by :meth:`SimHost.stop`),
and keeps its WebSocket clients (:class:`SimConn`) in ``conns``, which
:meth:`SimHost.drop_connections` cuts and :meth:`SimHost.inject` writes raw frames to.
Tests in the same process use :meth:`SimHost.start_in_thread` and :meth:`SimHost.call_soon`
to act on the server's loop from theirs; :func:`serve` runs one as a process until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from aiohttp import web

LOOPBACK = frozenset({"127.0.0.1", "::1"})
"""Where a simulator's control endpoint answers from."""


@dataclass
class SimFaults:
    """What every simulator can do wrong on demand: its server reads these."""

    silent: bool = False
    """Keep sockets open but send nothing (no data, no heartbeats, no answers)."""
    refuse_ws: bool = False
    """Answer WebSocket upgrades with HTTP 503 (REST still works)."""
    rest_failures: int = 0
    """The next this many REST calls fail with ``rest_status``."""
    rest_status: int = 503
    rest_delay: float = 0.0
    """Seconds every REST call waits before answering."""


@dataclass(eq=False)
class SimConn:
    """One WebSocket client of a simulator."""

    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None


C = TypeVar("C", bound=SimConn)


class SimHost(Generic[C]):
    """An aiohttp server on ``host:port`` (0: a free port, set once bound)."""

    name = "simulator"

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self.conns: set[C] = set()

    def routes(self, app: web.Application) -> None:
        """Add the simulator's routes to ``app``."""
        raise NotImplementedError

    def background(self) -> list[Coroutine[Any, Any, None]]:
        """The coroutines that run while serving (ticks, heartbeats)."""
        return []

    async def on_stop(self) -> None:
        """Close the WebSockets, before the server stops."""
        for conn in list(self.conns):
            await conn.ws.close()

    async def send(self, conn: C, frame: bytes | str) -> bool:
        """Write ``frame`` (binary or text) to ``conn``; ``False`` if it is gone."""
        if conn.ws.closed:
            return False
        try:
            if isinstance(frame, bytes):
                await conn.ws.send_bytes(frame)
            else:
                await conn.ws.send_str(frame)
        except (ConnectionError, RuntimeError):
            return False
        return True

    def drop_connections(self, which: Callable[[C], bool] = lambda conn: True) -> None:
        """Cut the WebSockets (``which`` of them) abruptly, as a network failure does."""

        def drop() -> None:
            for conn in list(self.conns):
                if which(conn) and isinstance(conn.transport, asyncio.Transport):
                    conn.transport.abort()

        self.call_soon(drop)

    def inject(self, *frames: bytes | str) -> None:
        """Write raw frames (hostile ones, say) to every connection."""

        async def write() -> None:
            for conn in list(self.conns):
                for frame in frames:
                    await self.send(conn, frame)

        self.call_soon(write)

    async def start(self) -> int:
        """Bind and serve in the running loop; returns the port."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only there
        if isinstance(server, asyncio.base_events.Server) and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(coro) for coro in self.background()]
        return self.port

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.on_stop()
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self) -> Self:
        """Serve from a daemon thread with its own loop; returns once listening."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(10.0):
            raise RuntimeError(f"the {self.name} did not start")
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10.0)

    def call_soon(self, action: Callable[[], Any]) -> None:
        """Run ``action`` (awaited if it returns a coroutine) on the server's loop, from
        any thread, and wait until it has run."""
        assert self._loop is not None, "start the simulator first"
        if threading.current_thread() is self._thread or not self._thread:
            result = action()
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
            return

        async def run() -> None:
            result = action()
            if asyncio.iscoroutine(result):
                await result

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(10.0)


async def control_body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a ``POST /sim/control``: 403 unless it comes from the loopback
    interface (a simulator's faults are for local tests and demos), 400 unless its body
    is a JSON object; both answered as ``{"error": …}``."""
    if request.remote not in LOOPBACK:
        raise web.HTTPForbidden(text=json.dumps({"error": "loopback only"}),
                                content_type="application/json")  # fmt: skip
    try:
        body = await request.json()
    except ValueError as exc:
        body = exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "expected a JSON object"}),
                                 content_type="application/json")  # fmt: skip
    return body


async def serve(sim: SimHost[Any], ready: str, describe: Callable[[], dict[str, Any]]) -> None:
    """Serve ``sim`` until SIGTERM (what ``make up`` sends), logging ``ready`` with
    ``describe()`` (its URLs) once it listens, then stop it cleanly."""
    await sim.start()
    logging.getLogger(__name__).info(ready, extra=describe())
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    try:
        await stopped.wait()
    finally:
        await sim.stop()
