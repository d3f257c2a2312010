"""What both paper adapters share: documents to and from their stored form, argument checks,
and the replay rule of a placement whose client order ids are stored already.

A document is stored as msgspec encodes it (amounts as decimal strings, read back as the
same ``Decimal``), whole, with the columns or fields its queries need beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from paper.checks import OrderError, check_instant, check_owner, check_quote, check_requests
from paper.documents import (
    Change,
    Order,
    OrderRequest,
    OrderState,
    Position,
    Quote,
    Trade,
    Wallet,
)
from paper.ids import basket_id
from store.paper.port import MAX_PAGE, ClientOrderIdConflict, Outcome
from store.sessions import text

__all__ = [
    "TIMED_PAPER_OPS",
    "Checkpoint",
    "decode",
    "encode",
    "from_doc",
    "page",
    "placement",
    "replay",
    "replayed",
    "to_doc",
    "written",
]

TIMED_PAPER_OPS = (
    "place", "fill_resting", "cancel", "settle", "order", "orders", "positions", "wallet",
    "wallets", "trades", "open_limit_orders", "ping",
)  # fmt: skip
"""Every operation of the paper port but ``close`` (``store.timing``)."""

Checkpoint = Callable[[str], None]
"""Called with the name of each step of a write (tests kill the process there)."""

D = TypeVar("D", Order, Position, Wallet, Trade)
_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(kind) for kind in (Order, Position, Wallet, Trade)
}


def no_checkpoint(step: str) -> None:
    """The production checkpoint: nothing."""


def encode(doc: Order | Position | Wallet | Trade) -> str:
    """A document as stored in SQLite: JSON text."""
    return _ENCODER.encode(doc).decode()


def decode(kind: type[D], stored: str | bytes) -> D:
    """A document of ``kind`` from its JSON text."""
    doc: D = _DECODERS[kind].decode(stored)
    return doc


def to_doc(doc: Order | Position | Wallet | Trade) -> dict[str, Any]:
    """A document as stored in MongoDB: its fields, amounts as decimal strings."""
    fields: dict[str, Any] = msgspec.to_builtins(doc)
    return fields


def from_doc(kind: type[D], stored: dict[str, Any]) -> D:
    """A document of ``kind`` from its MongoDB form (fields not of ``kind`` ignored)."""
    return msgspec.convert(stored, kind)


def placement(
    owner: Any, requests: Any, quotes: Any, at: str
) -> tuple[str, list[OrderRequest], list[Quote], str]:
    """``place``'s arguments checked (``OrderError``, a ``ValueError``, naming the field)."""
    owner = check_owner(owner)
    checked = check_requests(requests)
    if isinstance(quotes, Quote) or not isinstance(quotes, Sequence):
        raise OrderError("quotes", "a list of quotes")
    listed = [check_quote(quote, f"quotes[{index}]") for index, quote in enumerate(quotes)]
    return owner, checked, listed, check_instant(at)


def replay(
    owner: str, requests: Sequence[OrderRequest], stored: Sequence[Order | None]
) -> list[Order] | None:
    """The stored orders a placement repeats (its client order ids already placed), None
    when none is stored; ``ClientOrderIdConflict`` when only some are, or they are not
    this basket's legs. One order: whatever is stored under its id, as it is."""
    found = [order for order in stored if order is not None]
    if not found:
        return None
    if len(requests) == 1:
        return found
    expected = basket_id(owner, requests[0].client_order_id)
    if len(found) != len(requests) or any(order.basket_id != expected for order in found):
        taken = next(o.client_order_id for o in found)
        raise ClientOrderIdConflict(f"client_order_id {taken!r} belongs to another placement")
    return found


def written(change: Change) -> Outcome:
    """The answer to a write of ``change``: what it left the orders, trades, positions and
    wallet as, so the caller tells the owner without reading them again."""
    return Outcome(
        orders=change.orders, trades=change.trades, changed=True,
        positions=change.positions, wallet=change.wallet,
    )  # fmt: skip


def replayed(orders: list[Order], trades: list[Trade]) -> Outcome:
    """The answer to a repeated placement: the orders and their fills as stored."""
    return Outcome(orders=tuple(orders), trades=tuple(trades), changed=False)


def page(limit: Any, before: Any) -> tuple[int, tuple[str, str] | None]:
    """``(limit, before)`` of a listing once checked: ``limit`` in 1..:data:`MAX_PAGE`,
    ``before`` None or ``(instant, id)`` of the last row of the previous page."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be an integer in 1..{MAX_PAGE}, got {limit!r}")
    if before is None:
        return limit, None
    if not isinstance(before, tuple) or len(before) != 2:
        raise ValueError("before must be (instant, id) of a page's last row")
    return limit, (text(before[0], "before[0]"), text(before[1], "before[1]"))


def order_state(state: Any) -> OrderState | None:
    """``state`` as an :class:`OrderState` (or None); ``ValueError`` naming it otherwise."""
    if state is None:
        return None
    try:
        return OrderState(state)
    except ValueError:
        raise ValueError(f"state must be one of {', '.join(OrderState)}, got {state!r}") from None
