"""Raw Deribit frames → typed venue messages, or a :class:`Rejected` with the reason.

Every frame is untrusted: too large, not JSON, the wrong shape, an out-of-range
number (a negative or overflowing price, an IV above 10,000 %), an unknown
channel or an instrument name that is no option name gives a ``Rejected`` whose
``reason`` goes into the dead letter. No exception escapes :func:`parse_frame`,
:func:`parse_instruments` or :func:`parse_book_summaries`. JSON has no NaN or
infinity: msgspec refuses the bare ``NaN`` token and numbers that overflow a double.
Decoders are built once per frame type, at import. A ticker notification, almost all of
the traffic, is decoded in one pass (:class:`~.messages.TickerNotification`); any frame
that does not decode that way takes the general path, envelope first, which gives the
reason of a refusal.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from common.messages import OptionType
from feed_generator.venues.deribit.instruments import OptionName, parse_option_name
from feed_generator.venues.deribit.messages import (
    BookSummary,
    Frame,
    Heartbeat,
    Instrument,
    PriceIndex,
    RpcError,
    Subscription,
    Ticker,
    TickerNotification,
)
from feed_generator.venues.rejects import Rejected as Rejected  # re-exported

MAX_FRAME_BYTES = 16 << 20
"""Largest frame accepted (a full book summary of one currency is well under 1 MiB)."""
EXCERPT = 200
"""Characters of a rejected frame kept with its reason."""
INDEX_PRODUCTS = {"btc_usd": "BTC", "eth_usd": "ETH"}
"""The price indexes we use and the product each belongs to."""

_FRAME = msgspec.json.Decoder(Frame)
_TICKER_FRAME = msgspec.json.Decoder(TickerNotification)
_SUBSCRIPTION = msgspec.json.Decoder(Subscription)
_HEARTBEAT = msgspec.json.Decoder(Heartbeat)
_TICKER = msgspec.json.Decoder(Ticker)
_INDEX = msgspec.json.Decoder(PriceIndex)
_ROWS = msgspec.json.Decoder(list[msgspec.Raw])
_INSTRUMENT = msgspec.json.Decoder(Instrument)
_SUMMARY = msgspec.json.Decoder(BookSummary)
T = TypeVar("T")
OPTION_NAMES_CACHED = 8192
"""Parsed instrument names kept (the whole Deribit option universe is a few thousand)."""
_cached_option_name = functools.lru_cache(maxsize=OPTION_NAMES_CACHED)(parse_option_name)


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply to our request ``id`` (``None`` over REST): its ``result`` (still raw) or its
    ``error``."""

    id: int | None
    result: msgspec.Raw | None
    error: RpcError | None


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    ticker: Ticker
    option: OptionName


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    index: PriceIndex
    product: str


Parsed = Reply | TickerUpdate | IndexUpdate | Heartbeat | Rejected


def _excerpt(raw: bytes | str | msgspec.Raw) -> str:
    if isinstance(raw, str):
        return raw[:EXCERPT]
    data = raw if isinstance(raw, bytes) else memoryview(raw)
    return bytes(data[: EXCERPT * 4]).decode("utf-8", "replace")[:EXCERPT]


def _decode(decoder: msgspec.json.Decoder[T], raw: bytes | str | msgspec.Raw) -> T | str:
    """The decoded value, or the reason it is refused."""
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: first
        return f"wrong shape: {exc}"
    except msgspec.DecodeError as exc:
        return f"not JSON: {exc}"
    except (ValueError, RecursionError) as exc:  # __post_init__, nesting beyond the stack
        return f"unusable: {exc}"


def parse_frame(raw: bytes | str, *, max_bytes: int = MAX_FRAME_BYTES) -> Parsed:
    """The typed message of one WebSocket (or REST) frame, or why it is rejected."""
    if len(raw) > max_bytes:
        return Rejected(f"frame too large: {len(raw)} > {max_bytes} bytes", _excerpt(raw))
    fast = _ticker_frame(raw)
    if fast is not None:
        return fast
    frame = _decode(_FRAME, raw)
    if isinstance(frame, str):
        return Rejected(frame, _excerpt(raw))
    if frame.id is not None or frame.result or frame.error is not None:
        if not frame.result and frame.error is None:
            return Rejected("reply with neither result nor error", _excerpt(raw))
        return Reply(frame.id, frame.result if frame.result else None, frame.error)
    if not frame.params:
        return Rejected(f"notification {frame.method!r} without params", _excerpt(raw))
    if frame.method == "heartbeat":
        beat = _decode(_HEARTBEAT, frame.params)
        return Rejected(beat, _excerpt(raw)) if isinstance(beat, str) else beat
    if frame.method == "subscription":
        return _subscription(frame.params, raw)
    return Rejected(f"unknown method {frame.method!r:.40}", _excerpt(raw))


def _ticker_frame(raw: bytes | str) -> TickerUpdate | Rejected | None:
    """A ticker notification decoded in one pass; ``None``: not one, the general path decides."""
    try:
        frame = _TICKER_FRAME.decode(raw)
    except (ValueError, RecursionError):  # DecodeError is a ValueError
        return None
    if (
        frame.id is not None
        or frame.result
        or frame.error is not None
        or not frame.params.channel.startswith("ticker.")
    ):
        return None
    checked = _check_ticker(frame.params.data)
    return Rejected(checked, _excerpt(raw)) if isinstance(checked, str) else checked


def _subscription(params: msgspec.Raw, raw: bytes | str) -> Parsed:
    sub = _decode(_SUBSCRIPTION, params)
    if isinstance(sub, str):
        return Rejected(sub, _excerpt(raw))
    parsed: Parsed | str
    if sub.channel.startswith("ticker."):
        parsed = _ticker(sub.data)
    elif sub.channel.startswith("deribit_price_index."):
        parsed = _index(sub.data, sub.channel.removeprefix("deribit_price_index."))
    else:
        parsed = f"unknown channel {sub.channel!r:.60}"
    return Rejected(parsed, _excerpt(raw)) if isinstance(parsed, str) else parsed


def _ticker(data: msgspec.Raw) -> TickerUpdate | str:
    ticker = _decode(_TICKER, data)
    if isinstance(ticker, str):
        return ticker
    return _check_ticker(ticker)


def _check_ticker(ticker: Ticker) -> TickerUpdate | str:
    try:
        option = _cached_option_name(ticker.instrument_name)
    except ValueError as exc:
        return str(exc)
    bid, ask = ticker.best_bid_price or 0.0, ticker.best_ask_price or 0.0
    if bid > 0 and ask > 0 and bid > ask:
        return f"crossed book: bid {bid} > ask {ask} for {ticker.instrument_name}"
    return TickerUpdate(ticker, option)


def _index(data: msgspec.Raw, index_name: str) -> IndexUpdate | str:
    index = _decode(_INDEX, data)
    if isinstance(index, str):
        return index
    product = INDEX_PRODUCTS.get(index.index_name)
    if product is None or index.index_name != index_name:
        return f"unknown index {index.index_name!r:.40} on channel of {index_name!r:.40}"
    return IndexUpdate(index, product)


def _rows(
    result: msgspec.Raw | bytes,
    decoder: msgspec.json.Decoder[T],
    check: Callable[[T], OptionName | str],
) -> tuple[list[tuple[T, OptionName]], list[Rejected]]:
    """Each row decoded and checked alone: one hostile row does not lose the others."""
    rows = _decode(_ROWS, result)
    if isinstance(rows, str):
        return [], [Rejected(rows, _excerpt(result))]
    good: list[tuple[T, OptionName]] = []
    bad: list[Rejected] = []
    for raw_row in rows:
        row = _decode(decoder, raw_row)
        option = check(row) if not isinstance(row, str) else row
        if isinstance(row, str) or isinstance(option, str):
            bad.append(Rejected(str(option), _excerpt(raw_row)))
        else:
            good.append((row, option))
    return good, bad


def _option(name: str) -> OptionName | str:
    try:
        return parse_option_name(name)
    except ValueError as exc:
        return str(exc)


def _check_instrument(row: Instrument) -> OptionName | str:
    option = _option(row.instrument_name)
    if isinstance(option, str):
        return option
    expires = dt.datetime.fromtimestamp(row.expiration_timestamp / 1000, dt.UTC).date()
    side = {"call": OptionType.CALL, "put": OptionType.PUT}.get(row.option_type or "")
    if expires != option.expiry or row.strike != option.strike or side is not option.option_type:
        return f"instrument {row.instrument_name} disagrees with its expiry, strike or type"
    return option


def parse_instruments(
    result: msgspec.Raw | bytes,
) -> tuple[list[tuple[Instrument, OptionName]], list[Rejected]]:
    """The option rows of a ``public/get_instruments`` result, and the rows refused."""
    return _rows(result, _INSTRUMENT, _check_instrument)


def parse_book_summaries(
    result: msgspec.Raw | bytes,
) -> tuple[list[tuple[BookSummary, OptionName]], list[Rejected]]:
    """The rows of a ``public/get_book_summary_by_currency`` result, and the rows refused."""

    def check(row: BookSummary) -> OptionName | str:
        bid, ask = row.bid_price or 0.0, row.ask_price or 0.0
        if bid > 0 and ask > 0 and bid > ask:
            return f"crossed book: bid {bid} > ask {ask} for {row.instrument_name}"
        return _option(row.instrument_name)

    return _rows(result, _SUMMARY, check)


def rpc_request(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    """The JSON-RPC request frame for ``method``."""
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return msgspec.json.encode(message)
