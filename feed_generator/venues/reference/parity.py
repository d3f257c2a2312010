"""The spot implied by put-call parity from one option chain: the ``parity`` source.

For a chain whose forward is not the venue's own (an NSE index chain from Kite), the forward
``F`` is implied from its quotes by :func:`optionsmath.forward.parity_forward` (the median of
``K + (C_mid − P_mid)/DF`` over the strikes nearest the money with two-sided call and put
quotes, ``DF = e^{−rT}``), and the spot is ``S = F·e^{−(r−q)T}``, with the product's rate
``r`` and yield ``q`` (per year, continuous) and ``T`` in years (ACT/365) from the chain's
timestamp to its expiry instant (``common.products``). Only the nearest expiry is used: its
quotes are the most liquid and ``T`` is shortest, so an error in ``r − q`` moves ``S`` least.
"""

from __future__ import annotations

import math

from common.messages.market import OptionChain
from common.products import ProductConventions
from common.timestamps import parse_expiry, parse_ts
from optionsmath.forward import parity_forward

__all__ = ["parity_spot", "years_left"]


def years_left(chain: OptionChain, conventions: ProductConventions) -> float:
    """Years (ACT/365) from the chain's timestamp to its expiry instant."""
    expiry_ts = parse_ts(chain.expiry_ts) if chain.expiry_ts is not None else None
    moment = parse_ts(chain.timestamp)
    return conventions.years_to_expiry(moment, parse_expiry(chain.expiry), expiry_ts)


def parity_spot(chain: OptionChain, conventions: ProductConventions, near: float) -> float | None:
    """The spot implied by ``chain``'s quotes, or ``None`` (expired, or too few strikes with
    two-sided call and put quotes). ``near``: a spot close to the answer (the current
    reference), which chooses the strikes nearest the money."""
    T = years_left(chain, conventions)
    if not T > 0.0:
        return None
    carry = math.exp((conventions.rate - conventions.dividend_yield) * T)
    calls = [(row.bid, row.ask) for row in chain.calls]
    puts = [(row.bid, row.ask) for row in chain.puts]
    discount = math.exp(-conventions.rate * T)
    forward = parity_forward(chain.strikes, calls, puts, discount, near * carry)
    if not math.isfinite(forward):
        return None
    return forward / carry
