"""The IV surface of each product (strike × expiry grid) from option quotes, cached in Redis.

Each quote's IV is recorded with the forward it was priced on (the quote's own, else
spot carried at the product's rate and yield), so the surface takes each expiry's
out-of-the-money side against that expiry's forward, not against spot.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import orjson

from common.deadletter import push_deadletters
from common.messages import OptionType
from common.names import SPOT_KEY, Channel, iv_points_key, iv_surface_key
from common.products import ConventionsRegistry, serving_registry
from common.timestamps import format_ts, parse_expiry, parse_ts
from optionsmath import carry_forward, implied_vol, quote_price
from worker_enricher.cache import epoch_ms
from worker_enricher.context import WorkerContext
from worker_enricher.validation import validate_all

REFRESH_MS = 1000
"""A product's surface is rebuilt at most this often; points are recorded on every quote."""


def _spots(ctx: WorkerContext, products: list[str]) -> dict[str, float]:
    values = cast(list[bytes | None], ctx.redis.hmget(SPOT_KEY, products))
    return {p: float(v.split(b"|")[0]) for p, v in zip(products, values, strict=True) if v}


def _quote_inputs(
    quote: Mapping[str, Any], spots: Mapping[str, float], conventions: ConventionsRegistry
) -> tuple[float, float, float, float]:
    """``(underlying, T, r, q)`` of one quote: Black-76 on the quote's own forward when it
    carries one (``underlying = F``, ``q = r``), else its product's spot, rate and yield.
    ``T`` in years to the quote's ``expiry_ts`` if given, else its product's expiry instant."""
    c = conventions.get(quote["product"])
    expiry_ts = quote.get("expiry_ts")
    T = c.years_to_expiry(
        parse_ts(quote["timestamp"]),
        parse_expiry(quote["expiry"]),
        parse_ts(expiry_ts) if expiry_ts is not None else None,
    )
    forward = quote.get("forward")
    if forward is not None:
        return float(forward), T, c.rate, c.rate
    return spots.get(quote["product"], math.nan), T, c.rate, c.dividend_yield


def quote_ivs_and_forwards(
    quotes: Sequence[Mapping[str, Any]], spots: Mapping[str, float],
    conventions: ConventionsRegistry,
) -> tuple[list[float], list[float]]:  # fmt: skip
    """Implied volatility of each quote (per year, decimal; NaN without spot or forward, price
    or time value), vectorised, at each product's conventions (:mod:`common.products`), and
    the forward it is priced on: the quote's own, else ``S·e^{(r−q)T}`` (NaN without spot)."""
    n = len(quotes)
    m = np.array([[q["bid"], q["ask"], q["last"]] for q in quotes], dtype=float).reshape(n, 3)
    price = quote_price(m)  # columns bid, ask, last as in the chain matrix
    inputs = np.array([_quote_inputs(q, spots, conventions) for q in quotes], dtype=float)
    S, T, r, carry_yield = inputs.reshape(n, 4).T
    K = np.array([q["strike"] for q in quotes], dtype=float)
    call = np.array([q["option_type"] == OptionType.CALL for q in quotes], dtype=bool)
    iv = np.asarray(implied_vol(price, S, K, T, r, carry_yield, call), dtype=float)
    forward = np.asarray(carry_forward(S, T, r, carry_yield), dtype=float)  # q = r: F itself
    return [float(v) for v in iv.reshape(n)], [float(f) for f in forward.reshape(n)]


def quote_ivs(
    quotes: Sequence[Mapping[str, Any]], spots: Mapping[str, float],
    conventions: ConventionsRegistry,
) -> list[float]:  # fmt: skip
    """The IVs of :func:`quote_ivs_and_forwards`."""
    return quote_ivs_and_forwards(quotes, spots, conventions)[0]


def point_field(quote: Mapping[str, Any]) -> str:
    return f"{quote['expiry']}|{float(quote['strike'])!r}|{quote['option_type']}"


def build_surface(
    product: str, points: Mapping[bytes, bytes], spot: float | None, today: dt.date
) -> dict[str, Any]:
    """The grid of out-of-the-money IVs: calls at strikes at or above the expiry's forward,
    puts below, else the other side.

    ``points`` is the IV points hash (``expiry|strike|type`` → ``ts_ms|iv|forward``); an
    expiry's forward is the one of its newest point that has one, and ``spot`` stands in
    for an expiry without (points recorded as ``ts_ms|iv`` before forwards were); expired
    expiries are left out; a missing IV is ``None``.
    """
    grid: dict[tuple[str, float], dict[str, float]] = {}
    forwards: dict[str, tuple[int, float]] = {}  # expiry → (ts, forward) of its newest point
    newest = 0
    for field, value in points.items():
        expiry, strike, kind = field.decode().split("|")
        ts_text, iv, *rest = value.decode().split("|")
        if parse_expiry(expiry) < today:
            continue
        ts = int(ts_text)
        newest = max(newest, ts)
        if iv:
            grid.setdefault((expiry, float(strike)), {})[kind] = float(iv)
        forward = float(rest[0]) if rest and rest[0] else math.nan
        if forward > 0 and (expiry not in forwards or forwards[expiry][0] < ts):
            forwards[expiry] = (ts, forward)
    expiries = sorted({e for e, _ in grid})
    strikes = sorted({k for _, k in grid})

    def pick(expiry: str, strike: float) -> float | None:
        sides = grid.get((expiry, strike), {})
        money = forwards[expiry][1] if expiry in forwards else spot
        otm, itm = ("CALL", "PUT") if money is None or strike >= money else ("PUT", "CALL")
        return sides.get(otm, sides.get(itm))

    return {
        "product": product,
        "timestamp": format_ts(dt.datetime.fromtimestamp(newest / 1000, dt.UTC))
        if newest
        else None,
        "spot": spot,
        "expiries": expiries,
        "strikes": strikes,
        "iv": [[pick(e, k) for k in strikes] for e in expiries],
    }


def _record_points(
    ctx: WorkerContext, quotes: list[dict[str, Any]], ivs: list[float], forwards: list[float],
    pipe: Any,
) -> None:  # fmt: skip
    """Queue on ``pipe`` the newest IV point of each (product, expiry, strike, side)."""
    newest: dict[str, dict[str, tuple[int, str]]] = {}
    for quote, iv, forward in zip(quotes, ivs, forwards, strict=True):
        ts = epoch_ms(quote["timestamp"])
        field = point_field(quote)
        points = newest.setdefault(quote["product"], {})
        if field not in points or points[field][0] <= ts:
            # "iv|forward", either empty for NaN (no IV from this quote, no spot known)
            value = f"{'' if iv != iv else repr(iv)}|{'' if forward != forward else repr(forward)}"
            points[field] = (ts, value)
    for product, points in newest.items():
        args = [x for field, (ts, iv) in points.items() for x in (field, ts, iv)]
        ctx.scripts.iv_points(keys=[iv_points_key(product)], args=args, client=pipe)


def rebuild_surface(ctx: WorkerContext, product: str, now: dt.datetime) -> None:
    """Build the surface of ``product`` from its IV points and cache it."""
    spot = _spots(ctx, [product]).get(product)
    points = cast(dict[bytes, bytes], ctx.redis.hgetall(iv_points_key(product)))
    surface = build_surface(product, points, spot, now.date())
    ctx.redis.set(
        iv_surface_key(product), orjson.dumps(surface), ex=ctx.settings.pipeline.latest_ttl_s
    )


def refresh_surfaces(
    ctx: WorkerContext, products: list[str], now: dt.datetime, pipe: Any = None
) -> tuple[list[str], list[str]]:
    """Rebuild each product's surface unless rebuilt in the last ``REFRESH_MS``.

    Returns ``(rebuilt, deferred)``: a product skipped for that reason, with no
    rebuild pending yet, is *deferred*: the caller schedules one ``REFRESH_MS``
    later, so the last quotes before the flow stops still reach the surface.

    Every product's throttle is decided in one round trip, after whatever ``pipe``
    holds already (the batch's IV points).
    """
    if pipe is None:
        pipe = ctx.redis.pipeline(transaction=False)
    for product in products:
        key = iv_surface_key(product)
        ctx.scripts.throttle(keys=[f"{key}:lock", f"{key}:pending"], args=[REFRESH_MS],
                             client=pipe)  # fmt: skip
    results = ctx.scripts.execute(pipe)
    decisions = results[len(results) - len(products) :]
    rebuilt, deferred = [], []
    for product, decision in zip(products, decisions, strict=True):
        if decision == 1:
            rebuild_surface(ctx, product, now)
            rebuilt.append(product)
        elif decision == 2:
            deferred.append(product)
    return rebuilt, deferred


def deferred_refresh(ctx: WorkerContext, product: str, now: dt.datetime) -> None:
    """The rebuild scheduled by :func:`refresh_surfaces`; later quotes may schedule another."""
    ctx.redis.delete(f"{iv_surface_key(product)}:pending")
    rebuild_surface(ctx, product, now)


def process_quotes(
    ctx: WorkerContext,
    raws: Sequence[bytes | str],
    schedule: Callable[[str], None] = lambda product: None,
) -> int:
    """Record the IV of each quote and refresh the surfaces; returns the number of valid quotes.

    ``schedule(product)`` is called for a rebuild deferred by the throttle.
    """
    channel = Channel.MARKET_OPTION_QUOTE
    valid, rejected = validate_all(channel, raws)
    push_deadletters(ctx.redis, channel, rejected, "worker", ctx.settings.pipeline.deadletter_max)
    quotes = [quote for quote, _ in valid]
    if not quotes:
        return 0
    s = ctx.settings
    products = sorted({q["product"] for q in quotes})
    registry = serving_registry(s)
    ivs, forwards = quote_ivs_and_forwards(quotes, _spots(ctx, products), registry)
    pipe = ctx.redis.pipeline(transaction=False)
    _record_points(ctx, quotes, ivs, forwards, pipe)
    _, deferred = refresh_surfaces(ctx, products, dt.datetime.now(dt.UTC), pipe)
    for product in deferred:
        schedule(product)
    return len(quotes)
