"""Saved strategy documents: built from a request body, replaced by another, checked.

No I/O and no Flask. The legs are checked as an evaluation checks their shape (one
product the platform serves; the schema did the rest), not against the live chain: a
saved strategy outlives its expiries. ``updated_at`` moves forward at every replacement.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Collection, Mapping
from typing import Any

from common.timestamps import format_ts, parse_ts
from paper_service.legs import leg_specs, strategy_product

ID_PREFIX = "st_"


def new_strategy_id() -> str:
    """``st_`` and 22 URL-safe characters (128 random bits)."""
    return ID_PREFIX + secrets.token_urlsafe(16)


def strategy_content(body: Mapping[str, Any], products: Collection[str]) -> dict[str, Any]:
    """A validated body's name, legs (every member present) and note;
    :class:`~optionsmath.strategy.StrategyInputError` naming ``legs[i].product`` for legs of
    two products or one the platform does not serve."""
    specs = leg_specs(body["legs"])
    strategy_product(specs, products)
    return {
        "name": body["name"],
        "legs": [spec.document() for spec in specs],
        "note": body.get("note"),
    }


def new_strategy(
    content: Mapping[str, Any],
    *,
    owner: str,
    now: dt.datetime,
    new_id: Callable[[], str] = new_strategy_id,
) -> dict[str, Any]:
    """The document of ``owner``'s new strategy of ``content`` (:func:`strategy_content`)."""
    at = format_ts(now)
    return {"id": new_id(), "owner": owner, **content,
            "created_at": at, "updated_at": at}  # fmt: skip


def replaced_strategy(
    stored: Mapping[str, Any], content: Mapping[str, Any], *, now: dt.datetime
) -> dict[str, Any]:
    """``stored`` with the name, legs and note of ``content`` (:func:`strategy_content`);
    ``updated_at`` ``now``, or a millisecond after the stored one if ``now`` is not later."""
    at = format_ts(now)
    if at <= stored["updated_at"]:
        at = format_ts(parse_ts(stored["updated_at"]) + dt.timedelta(milliseconds=1))
    return {"id": stored["id"], "owner": stored["owner"], **content,
            "created_at": stored["created_at"], "updated_at": at}  # fmt: skip
