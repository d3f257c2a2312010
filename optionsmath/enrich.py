"""``enrich_chains``: raw option chain messages in, enriched chain messages out.

Quote conventions: a row's option price is the mid of a two-sided quote
(``0 < bid ≤ ask``), else its ``last`` when positive; a crossed quote
(``bid > ask``), a negative or non-numeric field gives no price, so the row's
IV and Greeks are ``None``. Buildup compares the traded price (``last``, else
the quote price) and OI with the previous snapshot of the same (product,
expiry).

The money is the chain's forward ``F`` (the message's own, else parity or carry:
:meth:`_Batch.forwards`): the ATM strike is the listed strike nearest ``F``, OTM
calls are struck above it and OTM puts below, and ``expected_move``, the
one-standard-deviation move to expiry, is ``F·σ_ATM·√T`` with σ_ATM the mean of the
ATM call and put IVs. Volume and OI may be fractional (coins); sums and changes go
on the wire as ``int`` when whole, else rounded to ``QUANTITY_DECIMALS``.

A batch is enriched as one: the options of all its chains are laid end to end
(each chain's calls, then its puts), implied volatility and Greeks are solved
once for all of them, and the chain statistics are segment reductions over
that layout (``chain_metrics.Segments``). Every step is element by element or
exact, so each chain gets bit for bit what it would get alone.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from common.conventions import (
    DEFAULT_DIVIDEND_YIELD,
    DEFAULT_EXPIRY_TIME_UTC,
    DEFAULT_RISK_FREE_RATE,
)
from common.messages.enums import ForwardSource
from common.messages.fields import wire_quantity
from common.products import ConventionsRegistry, ProductConventions
from common.timestamps import format_ts
from optionsmath.bsm import POINT, bs_greeks
from optionsmath.chain_metrics import (
    BUILDUP_BY_CODE,
    FloatArray,
    IntArray,
    Segments,
    atm_indices,
    classify_buildup,
    max_pain_segments,
    ratio,
    segment_sums,
    skew_25d_segments,
    zero_nan,
)
from optionsmath.fields import MessageFields, message_fields
from optionsmath.forward import product_forward
from optionsmath.gex import ChainsGex, GexBook, chains_gex
from optionsmath.implied_volatility import implied_vol
from optionsmath.previous import previous_values
from optionsmath.rows import (
    ASK,
    BID,
    OI,
    VOLUME,
    clean_fields,
    quote_price,
    stacked_rows,
    traded_price,
)

GREEKS = ("delta", "gamma", "theta", "vega", "rho")
MESSAGE_KEYS = ("product", "expiry", "spot_price", "strikes", "timestamp", "seq")
VENUE_KEYS = ("venue", "currency", "expiry_ts")
"""Optional fields of a real venue's chain, carried to the enriched chain when present."""
Item = tuple[Mapping[str, Any], Mapping[str, Any] | None]


def enrich_chain(
    chain: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    *,
    conventions: ConventionsRegistry | None = None,
    rate: float = DEFAULT_RISK_FREE_RATE,
    dividend_yield: float = DEFAULT_DIVIDEND_YIELD,
    expiry_time_utc: dt.time = DEFAULT_EXPIRY_TIME_UTC,
    processed_at: str | None = None,
) -> dict[str, Any]:
    """The enriched chain message (docs/MESSAGES.md) for a raw chain message.

    ``previous`` is the previous chain (raw or enriched) of the same product and
    expiry, for OI change and buildup; without it those fields are ``None``.
    ``conventions`` gives each product's rate, yield, expiry instant and forward
    method; without it every product is priced at ``rate`` and ``dividend_yield``
    (continuous per year) on the carry forward, expiring at ``expiry_time_utc``. Raises
    ``ValueError`` only when the message-level fields (timestamp, expiry, spot,
    strikes, forward, rows that are not objects) are unusable; bad rows give ``None`` fields.
    """
    (result,) = enrich_chains(
        [(chain, previous)], conventions=conventions, rate=rate,
        dividend_yield=dividend_yield, expiry_time_utc=expiry_time_utc,
        processed_at=processed_at,
    )  # fmt: skip
    if isinstance(result, ValueError):
        raise result
    return result


def enrich_chains(
    items: Sequence[Item],
    *,
    conventions: ConventionsRegistry | None = None,
    rate: float = DEFAULT_RISK_FREE_RATE,
    dividend_yield: float = DEFAULT_DIVIDEND_YIELD,
    expiry_time_utc: dt.time = DEFAULT_EXPIRY_TIME_UTC,
    processed_at: str | None = None,
) -> list[dict[str, Any] | ValueError]:
    """:func:`enrich_chain` of every ``(chain, previous)`` pair, computed as one batch.

    Returns, in order, each chain's enriched message, or the ``ValueError``
    :func:`enrich_chain` would raise for it, so one unusable chain costs only
    itself; both are exactly what :func:`enrich_chain` gives that pair alone. A
    ``previous`` may be a chain of the same batch. Without ``processed_at`` the
    whole batch is stamped with one current time.
    """
    if conventions is None:
        conventions = ConventionsRegistry(
            default=ProductConventions(
                rate=rate, dividend_yield=dividend_yield, expiry_time=expiry_time_utc
            )
        )
    results: list[dict[str, Any] | ValueError | None] = [None] * len(items)
    fields: dict[int, MessageFields] = {}
    for i, (chain, _) in enumerate(items):
        try:
            fields[i] = message_fields(chain, conventions)
        except ValueError as exc:
            results[i] = exc
    m, rows, errors = stacked_rows([items[i][0] for i in fields])
    for i, error in zip(list(fields), errors, strict=True):
        if error is not None:
            results[i] = error
            del fields[i]
    if fields:
        stamp = processed_at or format_ts(dt.datetime.now(dt.UTC))
        batch = _Batch.of(items, fields, m)
        messages = batch.enrich(rows, stamp)
        for i, message in zip(fields, messages, strict=True):
            results[i] = message
    return [r for r in results if r is not None]  # every item has its result by now


@dataclass(frozen=True)
class _Batch:
    """The accepted chains laid end to end: strike ``j`` of the batch belongs to chain
    ``runs.ids[j]``; its call is option ``call[j]`` and its put option ``put[j]``."""

    chains: list[Mapping[str, Any]]
    previous: list[Mapping[str, Any] | None]
    fields: list[MessageFields]
    strikes: FloatArray
    spots: FloatArray
    T: list[float]
    runs: Segments
    call: IntArray
    put: IntArray
    m: FloatArray
    """Rows of every option: bid, ask, last, volume, oi."""

    @classmethod
    def of(cls, items: Sequence[Item], fields: dict[int, MessageFields], m: FloatArray) -> _Batch:
        strikes = [f.strikes for f in fields.values()]
        runs = Segments.of_sizes([s.size for s in strikes])
        call = np.arange(runs.ids.size) + runs.starts[runs.ids]
        return cls(
            chains=[items[i][0] for i in fields], previous=[items[i][1] for i in fields],
            fields=list(fields.values()), strikes=np.concatenate(strikes),
            spots=np.array([f.spot for f in fields.values()]),
            T=[f.T for f in fields.values()], runs=runs, call=call,
            put=call + runs.sizes[runs.ids], m=m,
        )  # fmt: skip

    def per_option(self, per_chain: FloatArray) -> FloatArray:
        values: FloatArray = np.repeat(per_chain, 2 * self.runs.sizes)
        return values

    def forwards(self) -> tuple[FloatArray, list[ForwardSource], NDArray[np.bool_]]:
        """Each chain's forward, its source, and whether its options are priced on it
        (Black-76) rather than on spot with the carry (the same forward, exactly as the
        synthetic market prices): the message's own, else :func:`product_forward`."""
        forward, sources, on_forward = [], [], []
        quotes = self.m[:, BID : ASK + 1]
        for c, f in enumerate(self.fields):
            if f.forward_source is not None:
                value, source = f.forward, f.forward_source
            else:
                j = slice(self.runs.starts[c], self.runs.starts[c] + self.runs.sizes[c])
                value, source = product_forward(
                    f.conventions, f.spot, f.T, f.strikes, quotes[self.call[j]], quotes[self.put[j]]
                )
            forward.append(value)
            sources.append(source)
            on_forward.append(f.forward_source is not None or source is ForwardSource.PARITY)
        return np.array(forward), sources, np.array(on_forward, dtype=bool)

    def iv_and_greeks(
        self, price: FloatArray, strike: FloatArray, is_call: FloatArray | NDArray[np.bool_]
    ) -> tuple[FloatArray, dict[str, FloatArray], FloatArray, list[ForwardSource], GexBook]:
        """IVs and Greeks of every option (Black-76 on the forward, or BSM on spot with the
        carry: the same model), with each chain's forward and its source, and the options
        as the gamma exposure revalues them (on what each was priced on)."""
        forward, sources, on_forward = self.forwards()
        rate = np.array([f.conventions.rate for f in self.fields])
        carry_yield = np.array([f.conventions.dividend_yield for f in self.fields])
        use = self.per_option(on_forward.astype(np.float64)) > 0.0
        underlying = np.where(use, self.per_option(forward), self.per_option(self.spots))
        r = self.per_option(rate)
        q = np.where(use, r, self.per_option(carry_yield))  # Black-76: S = F, q = r
        T = self.per_option(np.array(self.T))
        iv = np.asarray(implied_vol(price, underlying, strike, T, r, q, is_call))
        greeks = {
            k: np.asarray(v) for k, v in bs_greeks(underlying, strike, T, r, q, iv, is_call).items()
        }
        # On a given forward only the discounting depends on r: ∂V/∂r = −T·V.
        greeks["rho"] = np.where(use & np.isfinite(greeks["rho"]), -T * price * POINT,
                                 greeks["rho"])  # fmt: skip
        size = self.per_option(np.array([f.conventions.contract_size for f in self.fields]))
        book = GexBook(
            strike=strike, T=T, iv=iv, oi=self.m[:, OI], is_call=np.asarray(is_call, dtype=bool),
            carry=underlying / self.per_option(self.spots), rate=r, yield_=q, contract_size=size,
            starts=2 * self.runs.starts,
        )  # fmt: skip
        return iv, greeks, forward, sources, book

    def enrich(self, rows: list[Any], stamp: str) -> list[dict[str, Any]]:
        m, n = self.m, self.m.shape[0]
        strike = np.empty(n)
        strike[self.call], strike[self.put] = self.strikes, self.strikes
        is_call = np.zeros(n, dtype=bool)
        is_call[self.call] = True
        price = quote_price(m)
        iv, greeks, forward, sources, book = self.iv_and_greeks(price, strike, is_call)
        gex = chains_gex(book, greeks["gamma"], self.spots)
        traded = traded_price(m, price)
        prev_price, prev_oi = previous_values(
            self.chains, self.previous, self.strikes, self.runs, self.call, self.put, m, traded
        )
        oi_change = m[:, OI] - prev_oi
        codes = classify_buildup(traded - prev_price, oi_change)
        enriched = [
            {**row, "iv": v, "delta": d, "gamma": g, "theta": t, "vega": ve, "rho": r,
             "oi_change": oc, "buildup": b, "gex": x}
            for row, v, d, g, t, ve, r, oc, b, x in zip(
                rows, _wire(iv), *(_wire(greeks[k]) for k in GREEKS), _wire_quantities(oi_change),
                [BUILDUP_BY_CODE[c] for c in codes.tolist()], _wire(gex.option), strict=True,
            )
        ]  # fmt: skip
        for i in np.flatnonzero(np.isnan(m).any(axis=1)).tolist():
            enriched[i].update(clean_fields(m[i]))  # rare: a row with invalid fields
        summaries = self.summaries(price, iv, greeks["delta"], oi_change, forward)
        for summary, values in zip(summaries, _gex_fields(gex), strict=True):
            summary.update(values)
        starts, sizes = (2 * self.runs.starts).tolist(), self.runs.sizes.tolist()
        for chain, summary, start, size, f, source in zip(
            self.chains, summaries, starts, sizes, forward.tolist(), sources, strict=True
        ):
            summary["calls"] = enriched[start : start + size]
            summary["puts"] = enriched[start + size : start + 2 * size]
            summary["processed_at"] = stamp
            summary.update((key, chain[key]) for key in VENUE_KEYS if key in chain)
            # Last, in the order of EnrichedChain's fields: the wire bytes round-trip.
            summary["forward"], summary["forward_source"] = f, source.value
        return summaries

    def summaries(
        self, price: FloatArray, iv: FloatArray, delta: FloatArray, oi_change: FloatArray,
        forward: FloatArray,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Each chain's statistics, as a message without its rows."""
        return [
            {key: chain[key] for key in MESSAGE_KEYS} | {
                "pcr_oi": _optional(ratio(put_oi, call_oi)),
                "pcr_volume": _optional(ratio(put_volume, call_volume)),
                "atm_strike": atm_strike,
                "atm_iv": atm_iv,
                "atm_straddle_price": straddle,
                "expected_move": move,
                "max_pain_strike": pain,
                "total_call_oi": wire_quantity(call_oi),
                "total_put_oi": wire_quantity(put_oi),
                "call_buildup_otm": wire_quantity(call_otm) if previous else None,
                "put_buildup_otm": wire_quantity(put_otm) if previous else None,
                "risk_reversal_25d": rr,
                "butterfly_25d": bf,
                "time_to_expiry": T,
            }
            for chain, T, (call_oi, put_oi, call_volume, put_volume, call_otm, put_otm),
                previous, atm_strike, atm_iv, straddle, move, pain, rr, bf in zip(
                self.chains, self.T, *self.statistics(price, iv, delta, oi_change, forward),
                strict=True,
            )
        ]  # fmt: skip

    def statistics(
        self, price: FloatArray, iv: FloatArray, delta: FloatArray, oi_change: FloatArray,
        forward: FloatArray,
    ) -> tuple[list[Any], ...]:  # fmt: skip
        """Per chain: the sums (call OI, put OI, call volume, put volume, OI change of calls
        struck above the forward and of puts struck below it), whether it had a previous
        snapshot, ATM strike (nearest the forward), ATM IV, straddle price, expected move
        (``F·σ_ATM·√T``), max pain, 25-delta risk reversal and butterfly (``None`` for NaN)."""
        m, runs, call, put = self.m, self.runs, self.call, self.put
        call_oi, put_oi = zero_nan(m[call, OI]), zero_nan(m[put, OI])
        money = forward[runs.ids]
        values = np.column_stack([
            call_oi, put_oi, zero_nan(m[call, VOLUME]), zero_nan(m[put, VOLUME]),
            zero_nan(oi_change[call]), zero_nan(oi_change[put]),
        ])  # fmt: skip
        where = np.ones(values.shape, dtype=bool)
        where[:, 4], where[:, 5] = self.strikes > money, self.strikes < money  # out of the money
        atm = runs.starts + atm_indices(self.strikes, forward, runs)
        atm_iv = _mean_of_finite(iv[call[atm]], iv[put[atm]])
        sides = Segments.of_sizes(np.repeat(runs.sizes, 2))  # calls, then puts, of each chain
        T = np.array(self.T)
        with np.errstate(invalid="ignore"):
            expected_move = np.where(T > 0, forward * atm_iv * np.sqrt(T), np.nan)
        return (
            segment_sums(values, runs, where).tolist(),
            np.logical_or.reduceat(np.isfinite(oi_change), 2 * runs.starts).tolist(),
            self.strikes[atm].tolist(),
            _optionals(atm_iv),
            _optionals(price[call[atm]] + price[put[atm]]),
            _optionals(expected_move),
            _optionals(max_pain_segments(self.strikes, call_oi, put_oi, runs)),
            *map(_optionals, skew_25d_segments(delta, iv, sides, atm_iv)),
        )


def _gex_fields(gex: ChainsGex) -> list[dict[str, float | None]]:
    """Each chain's gamma exposure fields, in EnrichedChain's order (docs/MATH.md)."""
    return [
        {"net_gex": net, "call_gex": call, "put_gex": put, "call_wall": cw, "put_wall": pw,
         "gex_flip": flip}
        for net, call, put, cw, pw, flip in zip(
            *map(_optionals, (gex.net, gex.call, gex.put, gex.call_wall, gex.put_wall, gex.flip)),
            strict=True,
        )
    ]  # fmt: skip


def _mean_of_finite(a: FloatArray, b: FloatArray) -> FloatArray:
    """Mean of ``a`` and ``b`` where both are finite, else the finite one, else NaN."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    with np.errstate(all="ignore"):
        both = (a + b) / 2.0
    mean: FloatArray = np.where(fa & fb, both, np.where(fa, a, np.where(fb, b, np.nan)))
    return mean


def _wire(values: FloatArray) -> list[float | None]:
    """Python floats, ``None`` for NaN."""
    out: list[float | None] = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = None
    return out


def _wire_quantities(values: FloatArray) -> list[int | float | None]:
    """Quantities (OI changes, within ±MAX_COUNT) as they go on the wire: Python ints where
    whole, :func:`wire_quantity` of the rare fractions, ``None`` for NaN."""
    nan = np.isnan(values)
    if nan.all():
        return [None] * values.size
    known = np.where(nan, 0.0, values)
    out: list[int | float | None] = known.astype(np.int64).tolist()
    for i in np.flatnonzero(known != np.rint(known)).tolist():
        out[i] = wire_quantity(float(known[i]))
    for i in np.flatnonzero(nan).tolist():
        out[i] = None
    return out


def _optional(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _optionals(values: FloatArray) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values.tolist()]
