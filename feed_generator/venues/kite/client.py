"""Kite Connect's transports for the connector: REST calls and one ticker WebSocket.

:class:`Credentials` holds the user's API key and access token; the token never reaches a
log, an exception's text or a ``repr`` (:func:`redact` takes it out of any text that may
carry it, such as aiohttp's errors, which print the URL with its query). :class:`KiteRest`
makes ``GET {api_url}/…`` calls with Kite's headers (``X-Kite-Version: 3``,
``Authorization: token key:token``), each paid from a local
:class:`~feed_generator.venues.ratebudget.RateBudget` mirroring Kite's documented limits and
behind the :class:`~feed_generator.venues.breaker.RestBreaker`. :class:`TickerConnection`
reads one ticker WebSocket: binary frames through
:func:`~feed_generator.venues.kite.packets.decode_frame`, heartbeats and text frames, with
the :class:`~feed_generator.venues.silence.SilenceWatchdog`. A refused token (HTTP 403 at
the handshake, ``TokenException`` over REST) raises :class:`TokenRefusedError`. Times in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec

from feed_generator.venues.breaker import CircuitOpenError, CircuitState, RestBreaker
from feed_generator.venues.deribit.client import spend
from feed_generator.venues.kite.packets import (
    MAX_FRAME_BYTES,
    Mode,
    Packet,
    TextMessage,
    decode_frame,
    decode_text,
    mode_message,
    subscribe_message,
)
from feed_generator.venues.ratebudget import BudgetLimits, RateBudget
from feed_generator.venues.rejects import Rejected
from feed_generator.venues.silence import SilenceAction, SilenceWatchdog

__all__ = [
    "KITE_OTHER",
    "KITE_QUOTE",
    "Credentials",
    "KiteRest",
    "KiteRestError",
    "TickerConnection",
    "TokenRefusedError",
    "open_ticker",
    "redact",
]

log = logging.getLogger(__name__)

KITE_QUOTE = BudgetLimits(max_credits=1.0, refill_per_s=1.0)
"""``/quote``: 1 request per second (kite.trade/docs/connect/v3/exceptions, "API rate limit")."""
KITE_OTHER = BudgetLimits(max_credits=10.0, refill_per_s=10.0)
"""Every other endpoint (the instruments dump): 10 requests per second."""
QUOTE_MAX = 500
"""Instruments per ``/quote`` call (the documented cap)."""
MAX_BODY_BYTES = 64 << 20
"""Largest REST body read (the full instruments dump is ~8 MB of CSV)."""


class TokenRefusedError(Exception):
    """Kite refused the access token (expired after the daily logout, or revoked)."""


class KiteRestError(Exception):
    """A REST call failed: transport, HTTP status, an error envelope or a bad body."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A Kite Connect app's ``api_key`` and a user's ``access_token`` (never shown)."""

    api_key: str
    access_token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.api_key or not self.access_token:
            raise ValueError("Kite credentials need an api_key and an access_token")

    def headers(self) -> dict[str, str]:
        return {
            "X-Kite-Version": "3",
            "Authorization": f"token {self.api_key}:{self.access_token}",
        }

    def ticker_url(self, ws_url: str) -> str:
        """``ws_url?api_key=…&access_token=…``: the ticker's documented connection URL."""
        query = urlencode({"api_key": self.api_key, "access_token": self.access_token})
        return f"{ws_url}{'&' if '?' in ws_url else '?'}{query}"


def redact(text: str, credentials: Credentials) -> str:
    """``text`` with the access token (raw or URL-encoded) replaced by ``***``."""
    token = credentials.access_token
    for form in {token, urlencode({"t": token})[2:]}:
        text = text.replace(form, "***")
    return text


class _ErrorEnvelope(msgspec.Struct, frozen=True):
    status: str = "error"
    message: str = ""
    error_type: str = ""


_ERROR = msgspec.json.Decoder(_ErrorEnvelope)


class KiteRest:
    """``GET`` calls to ``api_url`` with ``credentials`` (replaceable: a new day's token).

    ``quote_budget`` pays ``/quote``, ``budget`` every other call.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        credentials: Credentials,
        *,
        budget: RateBudget,
        quote_budget: RateBudget,
        breaker: RestBreaker,
        timeout_s: float = 10.0,
    ) -> None:
        self.session, self.api_url = session, api_url.rstrip("/")
        self.credentials = credentials
        self.budget, self.quote_budget, self.breaker = budget, quote_budget, breaker
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> bytes:
        """The body of a 200 answer to ``GET {api_url}{path}``; :class:`TokenRefusedError`,
        :class:`KiteRestError` or :class:`CircuitOpenError`."""
        if self.breaker.state is CircuitState.OPEN:
            raise CircuitOpenError(self.breaker.name, self.breaker.retry_after_s())
        await spend(self.quote_budget if path.startswith("/quote") else self.budget)
        outcome: bytes | Exception
        try:
            outcome = await self._get(path, params)
        except (KiteRestError, TokenRefusedError) as exc:
            outcome = exc

        def result() -> bytes:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return self.breaker.call(result)

    async def _get(self, path: str, params: Sequence[tuple[str, str]]) -> bytes:
        url = f"{self.api_url}{path}"
        headers = self.credentials.headers()
        try:
            async with self.session.get(
                url, params=list(params), headers=headers, timeout=self.timeout
            ) as resp:
                body = await _read_capped(resp, path)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            text = redact(f"{type(exc).__name__}: {exc}", self.credentials)
            raise KiteRestError(f"GET {path}: {text}") from None
        if status == 200:
            return body
        envelope = _envelope(body)
        if status == 403 and envelope.error_type in ("TokenException", ""):
            raise TokenRefusedError(f"GET {path}: 403 {envelope.error_type or 'Forbidden'}")
        detail = redact(envelope.message[:200], self.credentials)
        raise KiteRestError(f"GET {path}: HTTP {status} {envelope.error_type} {detail}".strip())


async def _read_capped(resp: aiohttp.ClientResponse, path: str) -> bytes:
    """The whole body, or :class:`KiteRestError` past :data:`MAX_BODY_BYTES`."""
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise KiteRestError(f"GET {path}: body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(body: bytes) -> _ErrorEnvelope:
    try:
        return _ERROR.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return _ErrorEnvelope()


async def open_ticker(
    session: aiohttp.ClientSession, ws_url: str, credentials: Credentials, timeout_s: float
) -> aiohttp.ClientWebSocketResponse:
    """One ticker WebSocket; :class:`TokenRefusedError` on a 403 at the handshake, else
    :class:`KiteRestError` with a redacted reason (never the URL's token)."""
    try:
        async with asyncio.timeout(timeout_s):  # a black-holed connect
            return await session.ws_connect(
                credentials.ticker_url(ws_url),
                max_msg_size=MAX_FRAME_BYTES + 1024,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
            )
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status == 403:
            raise TokenRefusedError("ticker handshake refused: HTTP 403") from None
        raise KiteRestError(f"ticker handshake refused: HTTP {exc.status}") from None
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        text = redact(f"{type(exc).__name__}: {exc}", credentials)
        raise KiteRestError(f"ticker connection failed: {text}") from None


class TickerConnection:
    """One open ticker WebSocket: ``on_packets`` gets each frame's packets, ``on_reject``
    each part refused; :meth:`read_forever` runs until it closes or goes silent.

    Kite answers a subscription at once with the instruments' current packets; one that no
    packet answers within the watchdog's ``replace_after_s`` (heartbeats do not count: a
    connection that stopped serving us still beats) is replaced too. ``clock``: monotonic s.
    """

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        *,
        watchdog: SilenceWatchdog,
        on_packets: Callable[[list[Packet]], None],
        on_reject: Callable[[Rejected], None],
        name: str = "kite",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ws, self.watchdog, self._clock = ws, watchdog, clock
        self._unanswered: SilenceWatchdog | None = None
        """Times a subscription no packet has answered yet."""
        self.on_packets, self.on_reject = on_packets, on_reject
        self.name = name
        self.replaced = False
        """The watchdog found the connection silent and closed it."""
        self.errors: list[str] = []
        """The venue's ``error`` text messages (the last few), e.g. over the instrument cap."""

    async def subscribe(self, tokens: Sequence[int], *, chunk: int = 1000) -> None:
        """Subscribe ``tokens`` and set them to full mode, ``chunk`` per message."""
        w = self.watchdog
        self._unanswered = SilenceWatchdog(w.ping_after_s, w.replace_after_s, clock=self._clock)
        for start in range(0, len(tokens), chunk):
            part = list(tokens[start : start + chunk])
            await self.ws.send_str(subscribe_message(part))
            await self.ws.send_str(mode_message(Mode.FULL, part))

    async def read_forever(self) -> None:
        """Read until the connection closes or stays silent; then close it."""
        reading = asyncio.create_task(self._read())
        try:
            while not reading.done():
                due = self.watchdog.next_check_in()
                if self._unanswered is not None:
                    due = min(due, self._unanswered.next_check_in())
                await asyncio.wait([reading], timeout=due or 0.001)
                if not reading.done() and await self._silence():
                    return
            reading.result()
        finally:
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            await self.ws.close()

    async def _read(self) -> None:
        ws, watchdog = self.ws, self.watchdog
        binary, text = aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT
        while not ws.closed:
            msg = await ws.receive()
            if msg.type is binary:
                watchdog.touch()
                packets, rejected = decode_frame(msg.data)
                if packets:
                    self._unanswered = None
                    self.on_packets(packets)
                for reject in rejected:
                    self.on_reject(reject)
            elif msg.type is text:
                watchdog.touch()
                self._text(msg.data)
            elif msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                watchdog.touch()
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    def _text(self, data: str) -> None:
        message = decode_text(data)
        if isinstance(message, Rejected):
            self.on_reject(message)
        elif message.type == "error":
            self.errors = [*self.errors[-9:], _text_data(message)]
            log.warning("kite ticker error", extra={"venue": self.name,
                                                    "message": self.errors[-1]})  # fmt: skip
        else:  # "message" notices and "order" postbacks: nothing the feed uses
            log.debug("kite ticker text", extra={"venue": self.name, "type": message.type})

    async def _silence(self) -> bool:
        if self._unanswered is not None and self._unanswered.is_silent():
            log.warning("kite subscription unanswered; replacing the connection",
                        extra={"venue": self.name})  # fmt: skip
            self.replaced = True
            return True
        action = self.watchdog.check()
        if action is SilenceAction.PING:
            await self.ws.ping()  # a nudge; heartbeats or data touch the watchdog
        elif action is SilenceAction.REPLACE:
            log.warning(
                "kite connection silent; replacing it",
                extra={"venue": self.name, "silent_s": round(self.watchdog.silence(), 3)},
            )
            self.replaced = True
            return True
        return False


def _text_data(message: TextMessage) -> str:
    data: Any = message.data
    return (data if isinstance(data, str) else repr(data))[:200]
