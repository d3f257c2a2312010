"""``GET /strategies/templates/<product>`` without I/O: which expiries a template is built
on, and its legs as an evaluate body names them (prices null: the live mid at evaluation).

The expiry is the one asked for, else the nearest live expiry whose chain has not expired
at ``now``; a calendar's far expiry the one asked for, else the next live one after it.
The math names its faults ``template``, ``far``, ``width`` and ``quantity``; they are
answered by the query's names (``name``, ``far_expiry``, …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from common.messages.enums import OptionType
from optionsmath.strategy import Smile, StrategyInputError, Template, template_legs
from paper_service.legs import LegSpec

FIELDS = {"template": "name", "far": "far_expiry"}
"""The math's field → the query's."""


def near_candidates(args: Mapping[str, Any], live: Sequence[str], today: dt.date) -> list[dt.date]:
    """The expiries the near leg may be on, in order of preference: the one asked for, else
    the live expiries from ``today`` on (the first whose chain has not expired wins)."""
    if args["expiry"] is not None:
        return [dt.date.fromisoformat(args["expiry"])]
    return [day for day in (dt.date.fromisoformat(e) for e in live) if day >= today]


def far_expiry(args: Mapping[str, Any], live: Sequence[str], near: dt.date) -> dt.date | None:
    """A calendar's later expiry: the one asked for, else the next live one after ``near``
    (``None``: there is none); ``None`` for every other template."""
    if args["name"] != Template.CALENDAR:
        return None
    if args["far_expiry"] is not None:
        return dt.date.fromisoformat(args["far_expiry"])
    later = [day for day in (dt.date.fromisoformat(e) for e in live) if day > near]
    return later[0] if later else None


def template_answer(
    args: Mapping[str, Any],
    product: str,
    near: Smile,
    far: Smile | None,
    contract_size: float,
) -> dict[str, Any]:
    """``{"legs": [...]}`` of the template ``args`` names on ``near`` (and ``far``), each
    leg of ``quantity`` units (default ``contract_size``: one contract)."""
    quantity = args["quantity"] if args["quantity"] is not None else contract_size
    try:
        legs = template_legs(
            args["name"], near, quantity, far=far, width=args["width"],
            option_type=OptionType(args["option_type"]), reverse=args["reverse"],
        )  # fmt: skip
    except StrategyInputError as exc:
        raise renamed(exc) from None
    specs = [
        LegSpec(product, leg.expiry, leg.strike, leg.option_type, leg.side, leg.quantity, None)
        for leg in legs
    ]
    return {"legs": [spec.document() for spec in specs]}


def renamed(exc: StrategyInputError) -> StrategyInputError:
    """``exc`` naming the query's field."""
    field = FIELDS.get(exc.field, exc.field)
    if field == exc.field:
        return exc
    return StrategyInputError(field, str(exc).partition(": ")[2])
