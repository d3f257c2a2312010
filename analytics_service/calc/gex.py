"""Gamma exposure across a product's expiries: by strike, the walls and the flip.

Every option of the newest chain of each expiry is revalued at one spot, the newest
chain's: each on its chain's forward moved with spot (the forward over that chain's own
spot is held), at its own IV and time to expiry, so expiries enriched seconds apart add
up at the same instant. A chain stored without a forward is carried at the product's
rate and yield. Definitions: docs/MATH.md, "Gamma exposure".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analytics_service.calc.values import number
from common.products import ProductConventions
from optionsmath.gex import GexBook, flip_level, options_gex_at, strike_gex

Chain = Mapping[str, Any]


def _carry(chain: Chain, conventions: ProductConventions, T: float) -> float:
    spot, forward = number(chain.get("spot_price")), number(chain.get("forward"))
    if spot and forward:
        return forward / spot
    return math.exp((conventions.rate - conventions.dividend_yield) * T)


def _rows(chain: Chain, conventions: ProductConventions) -> list[tuple[float, ...]]:
    """``(strike, T, iv, oi, is_call, carry)`` of every row with a strike and a number IV."""
    T = number(chain.get("time_to_expiry")) or 0.0
    carry = _carry(chain, conventions, T)
    out: list[tuple[float, ...]] = []
    for side, is_call in (("calls", 1.0), ("puts", 0.0)):
        for row in chain.get(side) or ():
            strike, iv, oi = number(row.get("strike")), number(row.get("iv")), number(row.get("oi"))
            if strike is not None and iv is not None and oi is not None:
                out.append((strike, T, iv, oi, is_call, carry))
    return out


def book_of(chains: Sequence[Chain], conventions: ProductConventions) -> GexBook:
    """The options of ``chains`` as one book (one "chain" in the library's sense)."""
    rows = [r for chain in chains for r in _rows(chain, conventions)]
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    n = table.shape[0]
    return GexBook(
        strike=table[:, 0], T=table[:, 1], iv=table[:, 2], oi=table[:, 3],
        is_call=table[:, 4] > 0.5, carry=table[:, 5], rate=np.full(n, conventions.rate),
        yield_=np.full(n, conventions.rate), contract_size=np.full(n, conventions.contract_size),
        starts=np.array([0], dtype=np.intp),
    )  # fmt: skip


def gex_across(chains: Sequence[Chain], conventions: ProductConventions) -> dict[str, Any]:
    """``{timestamp, spot, expiries, strikes, call_gex, put_gex, net_gex, call_wall,
    put_wall, gex_flip}`` from the newest chain of each expiry (``chains``)."""
    ordered = sorted(chains, key=lambda c: str(c["expiry"]))
    newest = max(chains, key=lambda c: (str(c["timestamp"]), int(c["seq"])), default=None)
    spot = number(newest.get("spot_price")) if newest else None
    book = book_of(ordered, conventions)
    empty: dict[str, Any] = {"call_gex": 0.0, "put_gex": 0.0, "net_gex": 0.0, "call_wall": None,
             "put_wall": None, "gex_flip": None, "strikes": []}  # fmt: skip
    answer: dict[str, Any] = {
        "timestamp": newest["timestamp"] if newest else None,
        "spot": spot,
        "expiries": [str(c["expiry"]) for c in ordered],
    }
    if spot is None or book.strike.size == 0:
        return answer | empty
    by = strike_gex(book.strike, options_gex_at(book, np.array([spot])), book.is_call)
    strikes = [
        {"strike": k, "call_gex": c, "put_gex": p, "net_gex": c + p}
        for k, c, p in zip(by.strikes.tolist(), by.call_gex.tolist(), by.put_gex.tolist(),
                           strict=True)
    ]  # fmt: skip
    return answer | {
        "strikes": strikes,
        "call_gex": by.total_call,
        "put_gex": by.total_put,
        "net_gex": by.total_net,
        "call_wall": by.call_wall,
        "put_wall": by.put_wall,
        "gex_flip": flip_level(book, spot),
    }
