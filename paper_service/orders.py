"""Order requests from validated bodies, checked against the product's conventions.

No I/O and no Flask. Each request gets its product's quote currency; a product with a lot
size (``contract_size`` above one unit: NIFTY's 75) takes quantities that are multiples of
it; an option whose expiry instant has passed (on its expiry day: the ledger itself refuses
only an earlier date) is refused. Faults are ``paper.checks.OrderError`` naming the field
as the body spells it (``quantity``, ``legs[1].expiry``): a 422.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from common.products import ConventionsRegistry
from paper.checks import OrderError, request_from
from paper.documents import Order, OrderRequest

__all__ = ["basket_requests", "order_request", "same_request"]

_SAME = ("product", "expiry", "strike", "option_type", "side", "quantity", "type", "limit_price")
"""What a repeated client order id must repeat (currency follows from the product)."""


def _lot(size: float) -> Decimal | None:
    """The lot in units, or None when the product trades in single units (or fractions)."""
    lot = Decimal(repr(size))
    return lot if lot > 1 else None


def order_request(
    body: Mapping[str, Any],
    registry: ConventionsRegistry,
    products: frozenset[str],
    now: dt.datetime,
    prefix: str = "",
) -> OrderRequest:
    """The request of one validated order body (or a basket's leg, its fields named after
    ``prefix``); :class:`OrderError` naming the field it cannot take."""
    product = body["product"]
    if product not in products:
        served = ", ".join(sorted(products))
        raise OrderError(f"{prefix}product", f"not a product the platform serves ({served})")
    conventions = registry.get(product)
    payload = {k: v for k, v in body.items() if v is not None}
    payload["currency"] = conventions.quote_currency
    try:
        request = request_from(payload)
    except OrderError as exc:
        raise OrderError(prefix + exc.field, exc.message) from None
    lot = _lot(conventions.contract_size)
    if lot is not None and request.quantity % lot != 0:
        raise OrderError(f"{prefix}quantity", f"a multiple of {product}'s lot of {lot} units")
    if request.option_type is None and request.expiry is not None:
        raise OrderError(
            f"{prefix}expiry", "futures are not quoted: an order is on an option or the spot"
        )
    if request.expiry is not None:
        expires = conventions.expiry_instant(dt.date.fromisoformat(request.expiry))
        if expires <= now:
            raise OrderError(f"{prefix}expiry", f"expired at {expires.isoformat()}")
    return request


def leg_ids(legs: Sequence[Mapping[str, Any]], prefix: str | None) -> list[str]:
    """The legs' client order ids: ``{prefix}-1``, ``{prefix}-2``, … or their own."""
    if prefix is not None:
        return [f"{prefix}-{i}" for i in range(1, len(legs) + 1)]
    return [str(leg["client_order_id"]) for leg in legs]


def basket_requests(
    legs: Sequence[Mapping[str, Any]],
    prefix: str | None,
    registry: ConventionsRegistry,
    products: frozenset[str],
    now: dt.datetime,
) -> list[OrderRequest]:
    """The MARKET requests of a basket's validated legs; :class:`OrderError` naming
    ``legs[i].…``, or ``legs[i].currency`` for legs of two currencies."""
    requests: list[OrderRequest] = []
    for i, (leg, cid) in enumerate(zip(legs, leg_ids(legs, prefix), strict=True)):
        body = {**leg, "client_order_id": cid, "type": "MARKET", "limit_price": None}
        request = order_request(body, registry, products, now, prefix=f"legs[{i}].")
        if request.currency != (requests[0].currency if requests else request.currency):
            raise OrderError(f"legs[{i}].product", "a basket's legs share one currency")
        requests.append(request)
    return requests


def same_request(request: OrderRequest, order: Order) -> bool:
    """``order`` (stored under the request's client order id) is what ``request`` asks
    for: the same instrument, side, quantity, type and limit (decimals compared as
    numbers: 75 and 75.0 are one quantity)."""
    return all(getattr(request, name) == getattr(order, name) for name in _SAME)
