"""``/paper/positions``, ``/paper/account``, ``/paper/trades`` (and ``.csv``): the caller's
book marked to the live market, and its fills.

Positions are marked at their quote's mid in the newest chain (read in one MGET;
``paper.positions.mark_position``), a position without a live quote at its cost; a mark
from a stale chain is given and said ``stale``. The account is ``paper.positions.summarise``
of each wallet with its currency's marks. Trades are keyset pages, newest first; the CSV
holds the same rows and columns as the JSON page.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec
from flask import Response

from common.api.data import NoQuery
from common.api.paper import TradesQuery, encode_cursor
from common.web import json_response
from common.web.openapi import Blueprint
from paper.documents import Position, Trade
from paper.positions import PositionMark, mark_position, summarise
from paper_service.context import PaperContext, caller, paper_context
from paper_service.paper_errors import paper_store_errors
from paper_service.quotes import live_quotes
from paper_service.routes.register import route

blp = Blueprint("paper_positions", __name__, description="Paper trading: the book.")

CSV_COLUMNS = (
    "at", "id", "kind", "order_id", "client_order_id", "product", "expiry", "strike",
    "option_type", "side", "quantity", "price", "notional", "fee", "realized_pnl",
    "currency", "market_ts",
)  # fmt: skip
"""The CSV's columns, in order (a trade's fields but its owner)."""


def _marked(context: PaperContext, positions: list[Position]) -> list[tuple[PositionMark, bool]]:
    """Each position at its live mark, and whether that mark's chain is stale."""
    quoted = live_quotes(
        context.reader, context.registry, [p.instrument for p in positions], context.now()
    )
    return [
        (mark_position(position, market.quote), market.stale and market.quote is not None)
        for position, (_, market) in zip(positions, quoted, strict=True)
    ]


def _position_document(mark: PositionMark, stale: bool) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.to_builtins(mark.position)
    del document["owner"]
    document.update(
        mark=None if mark.mark is None else str(mark.mark),
        value=str(mark.market_value),
        unrealized_pnl=str(mark.unrealized_pnl),
        stale=stale,
    )
    return document


@route(blp, "GET", "/paper/positions", NoQuery, "query")
def positions(_args: dict[str, Any]) -> Response:
    """The caller's open positions, each marked to the live market."""
    context, owner = paper_context(), caller()
    with paper_store_errors():
        held = context.paper_store().positions(owner)
    marked = _marked(context, held)
    return json_response({"positions": [_position_document(m, s) for m, s in marked]})


@route(blp, "GET", "/paper/account", NoQuery, "query")
def account(_args: dict[str, Any]) -> Response:
    """Per currency: cash, margin used, free, equity, realised and unrealised P&L, fees."""
    context, owner = paper_context(), caller()
    with paper_store_errors():
        store = context.paper_store()
        wallets, held = store.wallets(owner), store.positions(owner)
    marked = _marked(context, held)
    accounts = [
        msgspec.to_builtins(
            summarise(wallet, [m for m, _ in marked if m.position.currency == wallet.currency])
        )
        for wallet in wallets
    ]
    return json_response({"accounts": accounts})


def _trades(args: dict[str, Any]) -> tuple[list[Trade], str | None]:
    """A page of the caller's trades and the next page's cursor (None: the last page)."""
    owner, limit = caller(), args["limit"]
    with paper_store_errors():
        found = paper_context().paper_store().trades(owner, limit=limit + 1, before=args["cursor"])
    page = found[:limit]
    after = encode_cursor(page[-1].at, page[-1].id) if len(found) > limit else None
    return page, after


@route(blp, "GET", "/paper/trades", TradesQuery, "query")
def trades(args: dict[str, Any]) -> Response:
    """The caller's fills and settlements, newest first."""
    page, after = _trades(args)
    return json_response({"trades": [msgspec.to_builtins(t) for t in page], "next": after})


@route(blp, "GET", "/paper/trades.csv", TradesQuery, "query")
def trades_csv(args: dict[str, Any]) -> Response:
    """The same page as CSV (a header row, then one row per trade; empty cells for null);
    the next page's cursor in the ``X-Next-Cursor`` header."""
    page, after = _trades(args)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for trade in page:
        row = msgspec.to_builtins(trade)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    headers = {"Content-Disposition": 'attachment; filename="paper-trades.csv"'}
    if after is not None:
        headers["X-Next-Cursor"] = after
    return Response(out.getvalue(), headers=headers, mimetype="text/csv")
