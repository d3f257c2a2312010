"""Benchmark of the strategy math: ``evaluate_strategy`` latency, and ``smile_of`` per chain.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/strategy.py [--repeats 2000]``.
Prints one JSON object: median and p99 (ms) of ``evaluate_strategy`` for an iron condor
(4 legs, one expiry: exact breakevens and limits) and for a calendar (2 legs, two
expiries: Brent roots on the grid), each with its probability of profit under the
smile's density and the lognormal, and two dates between now and the first expiry; and of
``smile_of`` on one enriched 101-strike chain (what the service does per chain it reads,
unless it caches smiles). Chains: NIFTY-like, 50-point strikes, a skewed smile, quoted
with a spread, enriched by ``enrich_chain``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: set before NumPy loads

import numpy as np

from common.products import ProductConventions
from optionsmath import bs_price, enrich_chain
from optionsmath.strategy import Smile, evaluate_strategy, smile_of, template_legs

RATE = 0.065
SPOT = 24_013.35
STAMP = "2026-11-21T04:00:00.000Z"
NOW = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
NSE = ProductConventions(rate=RATE, dividend_yield=0.0)


def enriched(expiry: str, days: float, n: int = 101) -> dict[str, Any]:
    """An enriched chain of ``n`` strikes expiring ``days`` after 2026-11-21T10:00Z."""
    T = (days * 86_400 + 6 * 3_600) / (365 * 86_400)
    strikes = round(SPOT / 50) * 50 + 50.0 * (np.arange(n) - n // 2)
    k = np.log(strikes / SPOT)
    vols = np.clip(0.14 - 0.25 * k + 1.5 * k * k, 0.05, 2.0)
    chain: dict[str, Any] = {
        "product": "NIFTY", "expiry": expiry, "spot_price": SPOT, "strikes": strikes.tolist(),
        "timestamp": STAMP, "seq": 1,
    }  # fmt: skip
    for side, is_call in (("calls", True), ("puts", False)):
        mid = np.asarray(bs_price(SPOT, strikes, T, RATE, 0.0, vols, is_call))
        chain[side] = [
            {"strike": s, "bid": max(m - 0.5, 0.0), "ask": m + 0.5, "last": m,
             "volume": 1_000, "oi": 50_000}
            for s, m in zip(strikes.tolist(), mid.tolist(), strict=True)
        ]  # fmt: skip
    return enrich_chain(chain, processed_at=STAMP)


def timings(run: Callable[[], object], repeats: int) -> np.ndarray:
    """Nanoseconds of ``repeats`` calls of ``run``, after a warm-up."""
    for _ in range(max(repeats // 20, 3)):
        run()
    samples = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter_ns()
        run()
        samples[i] = time.perf_counter_ns() - start
    return samples


def summary(samples: np.ndarray) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples, 50)) / 1e6, 3),
        "p99_ms": round(float(np.percentile(samples, 99)) / 1e6, 3),
    }


def evaluation(name: str, smiles: dict[dt.date, Smile], repeats: int) -> dict[str, Any]:
    near = min(smiles.values(), key=lambda s: s.expiry)
    far = max(smiles.values(), key=lambda s: s.expiry)
    legs = template_legs(name, near, 75.0, far=far if far is not near else None, width=2)
    now = NOW + dt.timedelta(hours=1)
    dates = [now + dt.timedelta(days=2), now + dt.timedelta(days=5)]

    def run() -> object:
        return evaluate_strategy(legs, smiles, SPOT, now, dates=dates)

    report = evaluate_strategy(legs, smiles, SPOT, now, dates=dates)
    print(f"{name}: {len(legs)} legs, {report.payoff.spots.size} spots", file=sys.stderr)
    return {
        "legs": len(legs),
        "grid": int(report.payoff.spots.size),
        "pop": round(report.pop, 4),
        "pop_lognormal": round(report.pop_lognormal, 4),
        **summary(timings(run, repeats)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2_000)
    args = parser.parse_args()
    chains = [enriched("2026-11-30", 9), enriched("2026-12-28", 37)]
    smiles = {s.expiry: s for s in (smile_of(c, NSE) for c in chains)}
    near = {min(smiles): smiles[min(smiles)]}
    result = {
        "iron_condor": evaluation("iron_condor", near, args.repeats),
        "calendar": evaluation("calendar", smiles, args.repeats),
        "smile_of_101_strikes": summary(timings(lambda: smile_of(chains[0], NSE), args.repeats)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
