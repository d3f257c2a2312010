"""The parity source: the spot implied by put-call parity from a small chain, by hand."""

from __future__ import annotations

import math

import pytest

from common.messages.market import ChainRow, OptionChain
from common.products import ProductConventions
from feed_generator.venues.reference.parity import parity_spot, years_left

STAMP = "2026-12-01T00:00:00.000Z"
EXPIRY_TS = "2027-01-06T12:00:00.000Z"  # 36.5 days later: T = 0.1 year exactly


def chain(
    mids: dict[float, tuple[float, float]], expiry: str = "2027-01-06", expiry_ts: str = EXPIRY_TS
) -> OptionChain:
    """A chain whose call and put mids are ``mids[K]``, quoted 0.10 wide (a mid of 0: no bid)."""

    def row(strike: float, mid: float) -> ChainRow:
        bid = 0.0 if mid == 0.0 else mid - 0.05
        return ChainRow(strike=strike, bid=bid, ask=mid + 0.05, last=mid, volume=0, oi=0)

    strikes = sorted(mids)
    return OptionChain(
        product="NIFTY", expiry=expiry, spot_price=100.0, strikes=strikes,
        calls=[row(k, mids[k][0]) for k in strikes], puts=[row(k, mids[k][1]) for k in strikes],
        timestamp=STAMP, seq=1, venue="kite", currency="INR", expiry_ts=expiry_ts,
    )  # fmt: skip


def test_years_left_runs_to_the_exact_expiry_instant() -> None:
    assert years_left(chain({100.0: (1.0, 1.0)}), ProductConventions()) == pytest.approx(0.1)


def test_parity_spot_at_zero_rate_is_the_median_forward_carried_back_by_the_yield() -> None:
    # r = 0: DF = 1 and F_K = K + C_mid - P_mid: 90 + 11.2, 100 + 1.0, 110 - 9.0 = 101.2, 101,
    # 101 (120 has no call bid: left out); median 101; S = F·e^{-(0 - 0.02)·0.1} = 101·e^{0.002}
    mids = {90.0: (12.2, 1.0), 100.0: (4.0, 3.0), 110.0: (1.0, 10.0), 120.0: (0.0, 19.0)}
    conventions = ProductConventions(rate=0.0, dividend_yield=0.02)
    assert parity_spot(chain(mids), conventions, 100.0) == pytest.approx(101.20220213473404, 1e-12)


def test_parity_spot_discounts_at_the_rate_and_carries_back_at_rate_minus_yield() -> None:
    # quotes built from F = 101: C - P = DF·(F - K), DF = e^{-0.05·0.1}; S = 101·e^{-0.004}
    df = math.exp(-0.005)
    mids = {k: (12.0 + df * (101.0 - k), 12.0) for k in (90.0, 100.0, 110.0)}
    conventions = ProductConventions(rate=0.05, dividend_yield=0.01)
    assert parity_spot(chain(mids), conventions, 100.0) == pytest.approx(100.59680692374315, 1e-12)


def test_no_parity_spot_without_three_two_sided_strikes_or_after_expiry() -> None:
    conventions = ProductConventions(rate=0.0, dividend_yield=0.0)
    two = {90.0: (12.2, 1.0), 100.0: (4.0, 3.0), 110.0: (0.0, 10.0)}
    assert parity_spot(chain(two), conventions, 100.0) is None
    mids = {90.0: (12.2, 1.0), 100.0: (4.0, 3.0), 110.0: (1.0, 10.0)}
    expired = chain(mids, expiry="2026-11-30", expiry_ts="2026-11-30T10:00:00.000Z")
    assert parity_spot(expired, conventions, 100.0) is None
