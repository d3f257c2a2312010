"""The Deribit connector: a :class:`~feed_generator.venues.base.Venue` for BTC and ETH options.

On start and on every (re)connection: the option instruments from REST
(``public/get_instruments``), a WebSocket with ``public/set_heartbeat``, the
``ticker.{instrument}.100ms`` and ``deribit_price_index.{coin}_usd`` subscriptions
in chunks paid from the local rate budget, then a resync from the REST book summary
(and index price) so every chain is whole at once. While streaming, every
``test_request`` is answered, silence is pinged then replaced, the instruments are
refreshed periodically (new listings subscribed, expired ones dropped). When the
WebSocket is lost or refused, reconnects wait on the capped full-jitter backoff
and REST polling keeps the chains alive meanwhile (state ``degraded``; ``down``
when REST fails too). A 10028 drains the budget and reconnects after the backoff.
Every frame is untrusted: rejects are counted in health and handed to
``on_reject`` (:func:`deadletter_callback` pushes them to Redis), never published.

Messages are published in batches every ``flush_s``; chains once per ``chain_s``
per (product, expiry) from the assembler. Intervals are seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from common.deadletter import push_deadletters
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.breaker import CircuitOpenError, RestBreaker
from feed_generator.venues.deribit.client import (
    RestClient,
    RestError,
    RpcCallError,
    RpcConnection,
)
from feed_generator.venues.deribit.outbox import Outbox
from feed_generator.venues.deribit.parser import (
    MAX_FRAME_BYTES,
    IndexUpdate,
    Rejected,
    TickerUpdate,
    parse_book_summaries,
    parse_instruments,
)
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.ratebudget import DERIBIT_NON_MATCHING, RateBudget
from feed_generator.venues.runloop import LoopVenue, RejectLog
from feed_generator.venues.silence import SilenceWatchdog

__all__ = ["DeribitTimings", "DeribitVenue", "deadletter_callback"]

log = logging.getLogger(__name__)
_TRANSIENT = (
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
    RestError,
    RpcCallError,
    CircuitOpenError,
)


@dataclass(frozen=True, slots=True)
class DeribitTimings:
    """The connector's intervals and sizes (seconds unless named otherwise)."""

    heartbeat_s: float = 10.0
    """``public/set_heartbeat`` interval (Deribit's minimum is 10)."""
    ping_after_s: float = 5.0
    replace_after_s: float = 15.0
    chain_s: float = 1.0
    flush_s: float = 0.01
    flush_max: int = 200
    """A batch also goes out as soon as this many messages wait: a burst of frames read
    without a pause (a whole tick of the universe) would otherwise wait for its end."""
    poll_s: float = 5.0
    """REST polling period while the WebSocket is down."""
    refresh_s: float = 600.0
    """Instrument refresh period."""
    request_timeout_s: float = 10.0
    subscribe_chunk: int = 100
    """Channels per ``public/subscribe`` request."""


def deadletter_callback(client: Any, *, keep: int = 1000) -> Callable[[str, Rejected], None]:
    """An ``on_reject`` that pushes each reject to ``deadletter:venue:{venue}`` in Redis."""

    def push(venue: str, rejected: Rejected) -> None:
        push_deadletters(
            client, f"venue:{venue}", [(rejected.excerpt, rejected.reason)], "venue", keep
        )

    return push


class DeribitVenue(LoopVenue):
    """Deribit's options of ``currencies`` from ``ws_url`` / ``rest_url``; see the module doc.

    ``budget``, ``backoff`` and ``breaker`` default to Deribit's documented request limits,
    0.5–30 s backoff, and a breaker opening after 5 failures for 30 s. ``clock`` gives
    monotonic seconds, ``wall`` the aware UTC now.
    """

    def __init__(
        self,
        ws_url: str,
        rest_url: str,
        *,
        currencies: Sequence[str] = ("BTC", "ETH"),
        name: str = "deribit",
        timings: DeribitTimings | None = None,
        budget: RateBudget | None = None,
        backoff: Backoff | None = None,
        breaker: RestBreaker | None = None,
        on_reject: Callable[[str, Rejected], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.ws_url, self.rest_url = ws_url, rest_url
        self.currencies = [c.upper() for c in currencies]
        self._name = name
        self.timings: DeribitTimings = timings or DeribitTimings()
        self.budget = budget or RateBudget(DERIBIT_NON_MATCHING, clock=clock)
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.breaker = breaker or RestBreaker(f"{name}-rest", clock=clock)
        self.on_reject = on_reject
        self._clock, self._wall = clock, wall
        self._health = FeedHealth(name, clock=clock, wall=wall)
        self._reject = RejectLog(name, self._health, on_reject, label="deribit", logger=log)
        self.outbox = Outbox(self._health, self._reject, wall=wall, currencies=self.currencies)
        self.instruments: set[str] = set()
        self._started = clock()
        self._last_poll = self._last_refresh = -float("inf")

    @property
    def products(self) -> Sequence[str]:
        return list(self.currencies)

    # -- the loops ---------------------------------------------------------------------------

    def _open_rest(self, session: aiohttp.ClientSession) -> None:
        self._rest = RestClient(
            session,
            self.rest_url,
            budget=self.budget,
            breaker=self.breaker,
            timeout_s=self.timings.request_timeout_s,
        )

    async def _connect_loop(self) -> None:
        loop, first = self._loop, True
        while not loop.stopping.is_set():
            if not first:
                self._health.on_reconnect()
            first = False
            await loop.until_stopped(self._stream())
            if loop.stopping.is_set():
                return
            await loop.until_stopped(self._between(self.backoff.next_delay()))

    async def _between(self, delay: float) -> None:
        """Wait ``delay`` before the next connection, polling REST meanwhile."""

        async def poll() -> None:
            ok = await self._snapshot()
            self._health.set_state(FeedState.DEGRADED if ok else FeedState.DOWN)

        self._last_poll = await self._loop.backoff_polling(
            delay, self.timings.poll_s, self._last_poll, poll
        )

    async def _stream(self) -> None:
        """One WebSocket connection, from instruments to its end."""
        due = not self.instruments or self._refresh_due()
        if due and not await self._try_refresh() and not self.instruments:
            return  # nothing to subscribe to yet
        try:
            async with asyncio.timeout(self.timings.request_timeout_s):  # a black-holed connect
                ws = await self._session.ws_connect(
                    self.ws_url,
                    max_msg_size=MAX_FRAME_BYTES + 1024,
                    autoping=True,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                )
        except _TRANSIENT as exc:
            log.warning("deribit connection failed", extra={"error": str(exc)})
            return
        t = self.timings
        watchdog = SilenceWatchdog(t.ping_after_s, t.replace_after_s, clock=self._clock)
        conn = RpcConnection(
            ws,
            budget=self.budget,
            watchdog=watchdog,
            on_update=self._update,
            on_reject=self._reject,
            timeout_s=t.request_timeout_s,
        )
        reader = asyncio.create_task(conn.read_forever())
        try:
            await self._start_stream(conn)
            await self._while_live(conn, reader)
        except _TRANSIENT as exc:
            log.warning(
                "deribit stream failed",
                extra={"error": str(exc), "rate_limited": conn.rate_limited},
            )
        finally:
            await ws.close()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _start_stream(self, conn: RpcConnection) -> None:
        """Heartbeats, subscriptions and the resync of a new connection; then live."""
        await conn.call("public/set_heartbeat", {"interval": self.timings.heartbeat_s})
        indexes = [f"deribit_price_index.{c.lower()}_usd" for c in self.currencies]
        await self._subscribe(conn, "public/subscribe", indexes + self._tickers(self.instruments))
        if await self._snapshot():
            self._health.on_resync()
        self._health.set_state(FeedState.LIVE)
        self.backoff.reset()
        log.info("deribit live", extra={"instruments": len(self.instruments)})

    async def _while_live(self, conn: RpcConnection, reader: asyncio.Task[None]) -> None:
        while not reader.done() and not self._loop.stopping.is_set():
            wait = self._last_refresh + self.timings.refresh_s - self._clock()
            await asyncio.wait([reader], timeout=min(max(wait, 0.0), 0.1))
            if self._refresh_due() and not reader.done():
                before = set(self.instruments)
                if not await self._try_refresh():
                    continue  # the stream goes on with the instruments it has
                new, gone = self.instruments - before, before - self.instruments
                await self._subscribe(conn, "public/subscribe", self._tickers(new))
                await self._subscribe(conn, "public/unsubscribe", self._tickers(gone))
        if conn.replaced or conn.rate_limited:
            log.warning(
                "deribit connection ended",
                extra={"silent": conn.replaced, "rate_limited": conn.rate_limited},
            )

    @staticmethod
    def _tickers(names: Iterable[str]) -> list[str]:
        return [f"ticker.{name}.100ms" for name in sorted(names)]

    async def _subscribe(self, conn: RpcConnection, method: str, channels: list[str]) -> None:
        size = self.timings.subscribe_chunk
        for start in range(0, len(channels), size):
            await conn.call(method, {"channels": channels[start : start + size]})

    # -- REST ----------------------------------------------------------------------------------

    def _refresh_due(self) -> bool:
        return self._clock() - self._last_refresh >= self.timings.refresh_s

    async def _try_refresh(self) -> bool:
        """Refresh the instruments; on a REST failure keep them and retry after ``poll_s``."""
        try:
            await self._refresh_instruments()
        except (RestError, CircuitOpenError) as exc:
            log.warning("deribit instrument refresh failed", extra={"error": str(exc)})
            self._last_refresh = self._clock() - self.timings.refresh_s + self.timings.poll_s
            return False
        return True

    async def _refresh_instruments(self) -> None:
        """All currencies' live options, or an error (the previous set is kept)."""
        rows = []
        for currency in self.currencies:
            raw = await self._rest.call(
                "get_instruments", {"currency": currency, "kind": "option", "expired": "false"}
            )
            good, bad = parse_instruments(raw)
            rows.extend(good)
            for rejected in bad:
                self._reject(rejected)
        self.outbox.normaliser.set_instruments(rows)
        self.instruments = {row.instrument_name for row, _ in rows}
        self.outbox.assembler.retain(self.instruments)
        self._last_refresh = self._clock()

    async def _snapshot(self) -> bool:
        """Quotes and index of every currency from REST, then the chains at once."""
        ok = False
        for currency in self.currencies:
            try:
                raw = await self._rest.call(
                    "get_book_summary_by_currency", {"currency": currency, "kind": "option"}
                )
                good, bad = parse_book_summaries(raw)
                for rejected in bad:
                    self._reject(rejected)
                for row, option in good:
                    self.outbox.summary(row, option)
                self.outbox.rest_index(await self._rest.index_price(currency), currency)
                ok = True
            except (RestError, CircuitOpenError) as exc:
                log.warning(
                    "deribit REST snapshot failed", extra={"currency": currency, "error": str(exc)}
                )
        if ok:
            self.outbox.chains()
        return ok

    def _chains_due(self) -> None:
        if self.outbox.dirty:
            self.outbox.chains()

    def _update(self, update: TickerUpdate | IndexUpdate) -> None:
        self.outbox.update(update)
        if len(self.outbox.pending) >= self.timings.flush_max:
            self._flush()

    def _flush(self) -> None:
        self.outbox.flush(self._sinks, self._clock() - self._started)
