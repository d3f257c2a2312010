"""Kite's instruments dump (``GET /instruments``, CSV) → typed rows, and the rows to follow.

The dump is untrusted: :func:`parse_instruments` takes it gzipped or not, refuses
more than :data:`MAX_BYTES` (after decompression) or :data:`MAX_ROWS` rows, maps the
columns by the header's names, and gives each row that does not parse (a missing
field, a token that is no integer, a negative strike, an option without expiry…) a
:class:`Rejected` with its reason; the good rows are kept. :func:`select` picks an
underlying's NFO options of the nearest expiries around the money, and its index.
:func:`format_instruments` writes rows back (the simulator's dump).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

import msgspec

from feed_generator.venues.rejects import Rejected

MAX_BYTES = 64 << 20
"""Largest dump accepted after decompression (the whole dump is about 10 MB)."""
MAX_ROWS = 500_000
"""Most rows read (the whole dump has about 100,000)."""
MAX_REJECTED = 100
"""Rejected rows reported one by one; the rest are counted in one more ``Rejected``."""
COLUMNS = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)  # fmt: skip
"""The dump's columns, in the documented order."""
OPTION_TYPES = frozenset({"CE", "PE"})
OPTION_SEGMENT, INDEX_SEGMENT = "NFO-OPT", "INDICES"
INDEX_NAMES = {
    "NIFTY": "NIFTY 50",
    "BANKNIFTY": "NIFTY BANK",
    "FINNIFTY": "NIFTY FIN SERVICE",
    "MIDCPNIFTY": "NIFTY MID SELECT",
}
"""Each underlying's index, by its ``tradingsymbol`` (segment INDICES, exchange NSE)."""


class Instrument(msgspec.Struct, frozen=True, gc=False):
    """One row of the dump. Prices and strikes in rupees; ``lot_size`` in units."""

    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    last_price: float
    expiry: dt.date | None
    strike: float
    """0 where the dump leaves it empty (not an option)."""
    tick_size: float
    lot_size: int
    instrument_type: str
    segment: str
    exchange: str


def _text(body: bytes) -> str | Rejected:
    """The dump's text: gunzipped when it starts with the gzip magic, within the cap."""
    if body[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(body, MAX_BYTES + 1)
        except zlib.error as exc:
            return Rejected(f"instruments dump: bad gzip: {exc}", body[:64].hex())
        if not inflater.eof:
            return Rejected(f"instruments dump: over {MAX_BYTES} bytes or cut short", "")
    if len(body) > MAX_BYTES:
        return Rejected(f"instruments dump: {len(body)} > {MAX_BYTES} bytes", "")
    return body.decode("utf-8", "replace")


def parse_instruments(
    body: bytes, underlyings: Collection[str] | None = None
) -> tuple[list[Instrument], list[Rejected]]:
    """The dump's rows that parse, and a :class:`Rejected` for each that does not. With
    ``underlyings``, only the index rows and the rows whose ``name`` is one of them are read
    (the whole dump is ~100,000 rows, ~0.4 s of CPU here; two underlyings ~0.17 s)."""
    text = _text(body)
    if isinstance(text, Rejected):
        return [], [text]
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        return [], [Rejected(f"instruments dump: unreadable header: {exc}", text[:200])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        return [], [Rejected(f"instruments dump: header lacks {missing}", ",".join(header)[:200])]
    names = None if underlyings is None else frozenset(u.strip().upper() for u in underlyings)
    return _rows(reader, [header.index(name) for name in COLUMNS], len(header), names)


def _rows(
    reader: Iterator[list[str]], positions: list[int], width: int, names: frozenset[str] | None
) -> tuple[list[Instrument], list[Rejected]]:
    rows: list[Instrument] = []
    rejected: list[Rejected] = []
    refused = 0
    name_at, segment_at = positions[3], positions[10]
    try:
        for number, fields in enumerate(reader, start=2):
            if number > MAX_ROWS + 1:
                rejected.append(
                    Rejected(f"instruments dump: over {MAX_ROWS} rows, rest unread", "")
                )
                break
            if not fields or (
                names is not None
                and len(fields) == width
                and fields[name_at] not in names
                and fields[segment_at] != INDEX_SEGMENT
            ):
                continue  # a blank line, or not ours
            row = _row(fields, positions, width)
            if isinstance(row, Instrument):
                rows.append(row)
                continue
            refused += 1
            if refused <= MAX_REJECTED:
                rejected.append(
                    Rejected(f"instruments row {number}: {row}", ",".join(fields)[:200])
                )
    except csv.Error as exc:  # a NUL byte, a field over csv's limit
        rejected.append(Rejected(f"instruments dump unreadable: {exc}", ""))
    if refused > MAX_REJECTED:
        rejected.append(Rejected(f"{refused - MAX_REJECTED} more instruments rows rejected", ""))
    return rows, rejected


def _row(fields: list[str], positions: list[int], width: int) -> Instrument | str:
    """The typed row, or why it is refused."""
    if len(fields) != width:
        return f"{len(fields)} fields, the header has {width}"
    (token, exchange_token, symbol, name, last, expiry, strike, tick, lot, kind, segment,
     exchange) = (fields[i].strip() for i in positions)  # fmt: skip
    try:
        row = Instrument(
            int(token), int(exchange_token), symbol, name, float(last or 0),
            dt.date.fromisoformat(expiry) if expiry else None, float(strike or 0),
            float(tick or 0), int(float(lot or 0)), kind, segment, exchange,
        )  # fmt: skip
    except (ValueError, OverflowError) as exc:  # OverflowError: a lot size of "inf"
        return f"unreadable value: {exc}"
    numbers = (row.last_price, row.strike, row.tick_size, row.lot_size)
    if row.instrument_token <= 0 or not symbol or not all(0 <= x < 1e12 for x in numbers):
        return "non-positive token, empty symbol, or a negative, infinite or NaN number"
    if kind in OPTION_TYPES and (row.expiry is None or row.strike <= 0):
        return f"{kind} option {symbol!r:.40} without an expiry or a positive strike"
    return row


def select(
    rows: Iterable[Instrument],
    underlyings: Sequence[str],
    expiries: int,
    strikes_around: int,
    spot: Mapping[str, float] | None,
    *,
    today: dt.date | None = None,
) -> list[Instrument]:
    """Each underlying's index row, then its NFO options (``CE``/``PE``, segment NFO-OPT,
    ``name`` the underlying) of its nearest ``expiries`` expiries (not before ``today``
    when given) and, per expiry, the strike nearest the spot with ``strikes_around``
    strikes either side — every strike when the underlying's spot is unknown."""
    if expiries < 1 or strikes_around < 0:
        raise ValueError("expiries must be at least 1 and strikes_around not negative")
    wanted = {u.strip().upper() for u in underlyings}
    indexes = {INDEX_NAMES[u]: u for u in wanted if u in INDEX_NAMES}
    index_rows: list[Instrument] = []
    chains: dict[str, dict[dt.date, list[Instrument]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.segment == INDEX_SEGMENT and row.exchange == "NSE" and row.tradingsymbol in indexes:
            index_rows.append(row)
        elif (
            row.segment == OPTION_SEGMENT
            and row.instrument_type in OPTION_TYPES
            and row.name in wanted
            and row.expiry is not None
            and (today is None or row.expiry >= today)
        ):
            chains[row.name][row.expiry].append(row)
    chosen = sorted(index_rows, key=lambda r: r.tradingsymbol)
    for underlying in sorted(chains):
        by_expiry = chains[underlying]
        price = (spot or {}).get(underlying)
        for expiry in sorted(by_expiry)[:expiries]:
            chosen.extend(_around(by_expiry[expiry], price, strikes_around))
    return chosen


def _around(options: list[Instrument], spot: float | None, per_side: int) -> list[Instrument]:
    """``options`` of the strike nearest ``spot`` and ``per_side`` strikes either side,
    by strike then type (all of them when ``spot`` is ``None``)."""
    options = sorted(options, key=lambda r: (r.strike, r.instrument_type))
    if spot is None:
        return options
    strikes = sorted({r.strike for r in options})
    centre = min(range(len(strikes)), key=lambda i: (abs(strikes[i] - spot), strikes[i]))
    keep = set(strikes[max(0, centre - per_side) : centre + per_side + 1])
    return [r for r in options if r.strike in keep]


def format_instruments(rows: Iterable[Instrument]) -> bytes:
    """The CSV dump of ``rows``, header first, as Kite writes it (empty expiry when none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow((
            r.instrument_token, r.exchange_token, r.tradingsymbol, r.name, r.last_price,
            r.expiry.isoformat() if r.expiry else "", _number(r.strike), _number(r.tick_size),
            r.lot_size, r.instrument_type, r.segment, r.exchange,
        ))  # fmt: skip
    return out.getvalue().encode()


def _number(value: float) -> str:
    """``24000`` for a whole number, else the shortest repr (``0.05``)."""
    return str(int(value)) if value == int(value) else repr(value)
