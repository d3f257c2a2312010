"""``enrich_chain``: a raw option chain message in, the enriched chain message out.

Quote conventions: a row's option price is the mid of a two-sided quote
(``0 < bid ≤ ask``), else its ``last`` when positive; a crossed quote
(``bid > ask``), a negative or non-numeric field gives no price, so the row's
IV and Greeks are ``None``. Buildup compares the traded price (``last``, else
the quote price) and OI with the previous snapshot of the same (product,
expiry). ``expected_move`` is the one-standard-deviation move to expiry,
``spot·σ_ATM·√T``, with σ_ATM the mean of the ATM call and put IVs.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from common.conventions import (
    DEFAULT_DIVIDEND_YIELD,
    DEFAULT_EXPIRY_TIME_UTC,
    DEFAULT_RISK_FREE_RATE,
)
from common.timestamps import format_ts, parse_expiry, parse_ts, years_to_expiry
from worker_enricher.analytics.bsm import bs_greeks
from worker_enricher.analytics.chain_metrics import (
    BUILDUP_BY_CODE,
    FloatArray,
    aligned_previous,
    atm_index,
    classify_buildup,
    max_pain,
    ratio,
    skew_25d,
    zero_nan,
)
from worker_enricher.analytics.implied_volatility import implied_vol

ROW_FIELDS = ("bid", "ask", "last", "volume", "oi")
_ROW_VALUES = operator.itemgetter(*ROW_FIELDS)
MAX_COUNT = 1e12
"""Volume or OI above this is corrupt data (and sums of such stay exact in float64)."""
BID, ASK, LAST, VOLUME, OI = range(5)
GREEKS = ("delta", "gamma", "theta", "vega", "rho")


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _rows_matrix(rows: Sequence[Mapping[str, Any]]) -> FloatArray:
    """``(n, 5)`` floats of bid, ask, last, volume, oi.

    NaN for anything that is not a finite, non-negative number, and for counts
    above :data:`MAX_COUNT`, so no later sum can overflow or lose integers.
    """
    try:
        matrix = np.array(list(map(_ROW_VALUES, rows)), dtype=np.float64).reshape(len(rows), 5)
    except (TypeError, ValueError, KeyError):
        # The slow path, for rows with missing or non-numeric fields.
        if not all(isinstance(r, Mapping) for r in rows):
            raise ValueError("every call and put row must be an object") from None
        matrix = np.array(
            [[_number(r.get(f)) for f in ROW_FIELDS] for r in rows], dtype=np.float64
        ).reshape(len(rows), 5)
    with np.errstate(invalid="ignore"):
        bad = ~(matrix >= 0.0) | ~np.isfinite(matrix)
        bad[:, VOLUME:] |= matrix[:, VOLUME:] > MAX_COUNT
    matrix[bad] = np.nan
    return matrix


def _clean_fields(values: FloatArray) -> dict[str, float | int | None]:
    """A bad row's quote fields as they can go on the wire: the valid ones, else ``None``."""
    bid, ask, last, volume, oi = values.tolist()
    return {
        "bid": None if bid != bid else bid,
        "ask": None if ask != ask else ask,
        "last": None if last != last else last,
        "volume": None if volume != volume else int(volume),
        "oi": None if oi != oi else int(oi),
    }


def quote_price(m: FloatArray) -> FloatArray:
    """Mid of a two-sided quote, else a positive last; NaN for crossed or invalid rows."""
    bid, ask, last = m[:, BID], m[:, ASK], m[:, LAST]
    sane = (bid >= 0.0) & (ask >= 0.0) & (last >= 0.0)  # False for NaN too
    two_sided = (bid > 0.0) & (ask > 0.0)
    price = np.where(two_sided, 0.5 * (bid + ask), np.where(last > 0.0, last, np.nan))
    return np.where(sane & ~(two_sided & (bid > ask)), price, np.nan)


def _wire(values: FloatArray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]


def _wire_int(values: FloatArray) -> list[int | None]:
    return [None if v != v else int(v) for v in values.tolist()]


def _optional(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _previous_columns(previous: Mapping[str, Any] | None, strikes: FloatArray) -> FloatArray | None:
    """Previous traded price and OI on the current strikes: columns call price, call OI,
    put price, put OI (NaN where a strike was not listed)."""
    if not previous:
        return None
    try:
        prev_strikes = np.asarray(previous["strikes"], dtype=np.float64).reshape(-1)
        calls, puts = _rows_matrix(previous["calls"]), _rows_matrix(previous["puts"])
    except (KeyError, TypeError, ValueError):
        return None  # an unusable previous snapshot is no previous snapshot
    if (
        calls.shape[0] != prev_strikes.size
        or puts.shape[0] != prev_strikes.size
        or not np.all(np.diff(prev_strikes) > 0.0)
    ):
        return None
    m = np.concatenate([calls, puts])
    traded = np.where(m[:, LAST] > 0.0, m[:, LAST], quote_price(m)).reshape(2, -1)
    oi = m[:, OI].reshape(2, -1)
    stacked = np.column_stack([traded[0], oi[0], traded[1], oi[1]])
    return aligned_previous(strikes, prev_strikes, stacked)


def _message_fields(
    chain: Mapping[str, Any], expiry_time_utc: dt.time
) -> tuple[FloatArray, float, float]:
    """Strikes, spot and T of a chain; ``ValueError`` naming what makes it unusable."""
    try:
        strikes = np.asarray(chain["strikes"], dtype=np.float64)
        spot = float(chain["spot_price"])
        T = years_to_expiry(
            parse_ts(chain["timestamp"]), parse_expiry(chain["expiry"]), expiry_time_utc
        )
        sides = (chain["calls"], chain["puts"])
    except KeyError as exc:
        raise ValueError(f"chain message has no {exc} field") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"unusable chain message: {exc}") from exc
    if not (math.isfinite(spot) and spot > 0.0):
        raise ValueError(f"spot_price must be a positive number, got {spot}")
    if strikes.ndim != 1 or strikes.size == 0 or not np.all(np.isfinite(strikes)):
        raise ValueError("strikes must be a non-empty list of numbers")
    if np.any(np.diff(strikes) <= 0.0):
        raise ValueError("strikes must be strictly increasing")
    for rows in sides:
        if not isinstance(rows, Sequence) or len(rows) != strikes.size:
            raise ValueError("calls and puts must have one row per strike")
    return strikes, spot, T


def enrich_chain(
    chain: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    *,
    rate: float = DEFAULT_RISK_FREE_RATE,
    dividend_yield: float = DEFAULT_DIVIDEND_YIELD,
    expiry_time_utc: dt.time = DEFAULT_EXPIRY_TIME_UTC,
    processed_at: str | None = None,
) -> dict[str, Any]:
    """The enriched chain message of ARCHITECTURE.md for a raw chain message.

    ``previous`` is the previous chain (raw or enriched) of the same product and
    expiry, for OI change and buildup; without it those fields are ``None``.
    Raises ``ValueError`` only when the message-level fields (timestamp,
    expiry, spot, strikes) are unusable; bad rows give ``None`` fields.
    """
    strikes, spot, T = _message_fields(chain, expiry_time_utc)
    n = strikes.size
    m = np.concatenate([_rows_matrix(chain["calls"]), _rows_matrix(chain["puts"])])
    price = quote_price(m)
    is_call = np.arange(2 * n) < n
    both_strikes = np.concatenate([strikes, strikes])
    iv = np.asarray(implied_vol(price, spot, both_strikes, T, rate, dividend_yield, is_call))
    greeks = {
        k: np.asarray(v)
        for k, v in bs_greeks(spot, both_strikes, T, rate, dividend_yield, iv, is_call).items()
    }
    oi_change, codes = _changes(m, price, previous, strikes)
    out = _summary(chain, strikes, spot, T, m, price, iv, greeks["delta"], oi_change)
    enriched = [
        {**row, "iv": v, "delta": d, "gamma": g, "theta": t, "vega": ve, "rho": r,
         "oi_change": oc, "buildup": b}
        for row, v, d, g, t, ve, r, oc, b in zip(
            [*chain["calls"], *chain["puts"]], _wire(iv),
            *(_wire(greeks[k]) for k in GREEKS),
            _wire_int(oi_change), [BUILDUP_BY_CODE[c] for c in codes.tolist()],
            strict=True,
        )
    ]  # fmt: skip
    for i in np.flatnonzero(np.isnan(m).any(axis=1)).tolist():
        enriched[i].update(_clean_fields(m[i]))  # rare: a row with invalid fields
    out["calls"], out["puts"] = enriched[:n], enriched[n:]
    out["processed_at"] = processed_at or format_ts(dt.datetime.now(dt.UTC))
    return out


def _changes(
    m: FloatArray, price: FloatArray, previous: Mapping[str, Any] | None, strikes: FloatArray
) -> tuple[FloatArray, NDArray[np.int8]]:
    prev = _previous_columns(previous, strikes)
    if prev is None:
        return np.full(m.shape[0], np.nan), np.zeros(m.shape[0], dtype=np.int8)
    prev_price = np.concatenate([prev[:, 0], prev[:, 2]])
    prev_oi = np.concatenate([prev[:, 1], prev[:, 3]])
    traded = np.where(m[:, LAST] > 0.0, m[:, LAST], price)
    oi_change = m[:, OI] - prev_oi
    return oi_change, classify_buildup(traded - prev_price, oi_change)


def _summary(
    chain: Mapping[str, Any], strikes: FloatArray, spot: float, T: float, m: FloatArray,
    price: FloatArray, iv: FloatArray, delta: FloatArray, oi_change: FloatArray,
) -> dict[str, Any]:  # fmt: skip
    n = strikes.size
    call_oi, put_oi = zero_nan(m[:n, OI]), zero_nan(m[n:, OI])
    total_call_oi, total_put_oi = float(call_oi.sum()), float(put_oi.sum())
    atm = atm_index(strikes, spot)
    atm_ivs = [v for v in (float(iv[atm]), float(iv[n + atm])) if math.isfinite(v)]
    atm_iv = sum(atm_ivs) / len(atm_ivs) if atm_ivs else math.nan
    rr, bf = skew_25d(delta[:n], iv[:n], delta[n:], iv[n:], atm_iv)
    otm_call_change, otm_put_change = oi_change[:n][strikes > spot], oi_change[n:][strikes < spot]
    has_previous = bool(np.isfinite(oi_change).any())
    return {
        key: chain[key]
        for key in ("product", "expiry", "spot_price", "strikes", "timestamp", "seq")
    } | {
        "pcr_oi": _optional(ratio(total_put_oi, total_call_oi)),
        "pcr_volume": _optional(
            ratio(float(zero_nan(m[n:, VOLUME]).sum()), float(zero_nan(m[:n, VOLUME]).sum()))
        ),
        "atm_strike": float(strikes[atm]),
        "atm_iv": _optional(atm_iv),
        "atm_straddle_price": _optional(float(price[atm] + price[n + atm])),
        "expected_move": _optional(spot * atm_iv * math.sqrt(T) if T > 0 else math.nan),
        "max_pain_strike": _optional(max_pain(strikes, call_oi, put_oi)),
        "total_call_oi": int(total_call_oi),
        "total_put_oi": int(total_put_oi),
        "call_buildup_otm": int(zero_nan(otm_call_change).sum()) if has_previous else None,
        "put_buildup_otm": int(zero_nan(otm_put_change).sum()) if has_previous else None,
        "risk_reversal_25d": _optional(rr),
        "butterfly_25d": _optional(bf),
        "time_to_expiry": T,
    }
