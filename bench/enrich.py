"""Benchmark of the options math: ``enrich_chain`` latency and implied-vol throughput.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/enrich.py`` (or ``make bench``).
Prints one JSON object: median and p99 of ``enrich_chain`` for chains of 21,
101 and 401 strikes (calls and puts, with a previous snapshot, so OI change
and buildup are computed too), and implied-vol solves per second on 100,000
options at full accuracy, with the worst error against the volatility that
priced them. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: set before NumPy loads

import numpy as np

from worker_enricher.analytics import bs_greeks, bs_price, enrich_chain, implied_vol

RATE = 0.065
EPS = float(np.finfo(np.float64).eps)


def synthetic_chain(n: int, seq: int, rng: np.random.Generator) -> dict[str, Any]:
    """A NIFTY-like chain: 50-point strikes, skewed smile, 0.05-tick spreads, random OI."""
    spot, step, T = 24_013.35, 50.0, 9 / 365
    strikes = round(spot / step) * step + step * (np.arange(n) - n // 2)
    k = np.log(strikes / spot)
    vols = np.clip(0.14 - 0.25 * k + 1.5 * k * k, 0.05, 2.0)
    chain: dict[str, Any] = {
        "product": "NIFTY", "expiry": "2026-11-30", "spot_price": spot,
        "strikes": strikes.tolist(), "timestamp": "2026-11-21T04:00:00.000Z", "seq": seq,
    }  # fmt: skip
    for side, is_call in (("calls", True), ("puts", False)):
        mid = np.asarray(bs_price(spot, strikes, T, RATE, 0.0, vols, is_call))
        half = np.maximum(0.05, np.round(0.002 * mid / 0.05) * 0.05)
        bid = np.maximum(np.round((mid - half) / 0.05) * 0.05, 0.0)
        ask = np.round((mid + half) / 0.05) * 0.05 + 0.05
        oi = rng.integers(0, 2_000_000, n)
        columns = zip(strikes.tolist(), bid.tolist(), ask.tolist(), mid.tolist(), oi, strict=True)
        chain[side] = [
            {
                "strike": s,
                "bid": b,
                "ask": a,
                "last": round(m, 2),
                "volume": int(o) // 4,
                "oi": int(o),
            }
            for s, b, a, m, o in columns
        ]
    return chain


def time_enrich(n: int, repeats: int, rng: np.random.Generator) -> dict[str, float]:
    previous, chain = synthetic_chain(n, 1, rng), synthetic_chain(n, 2, rng)
    for _ in range(20):
        enrich_chain(chain, previous)
    samples = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter_ns()
        enrich_chain(chain, previous)
        samples[i] = time.perf_counter_ns() - start
    return {
        "options": 2 * n,
        "runs": repeats,
        "median_ms": round(float(np.median(samples)) / 1e6, 4),
        "p99_ms": round(float(np.percentile(samples, 99)) / 1e6, 4),
    }


def option_mix(size: int, rng: np.random.Generator, stress: bool) -> dict[str, np.ndarray]:
    """Realistic listed options, or (``stress``) the whole test domain of the solver."""
    if stress:
        m, T, v = rng.uniform(0.5, 2.0, size), np.geomspace(1 / 8760, 2.0, size), (0.01, 3.0)
    else:
        m, T, v = rng.uniform(0.8, 1.25, size), np.geomspace(1 / 365, 1.0, size), (0.08, 0.8)
    return {
        "K": 100.0 * m,
        "T": rng.permutation(T),
        "sigma": np.exp(rng.uniform(np.log(v[0]), np.log(v[1]), size)),
        "is_call": rng.random(size) < 0.5,
    }


def time_implied_vol(
    size: int, repeats: int, rng: np.random.Generator, stress: bool
) -> dict[str, Any]:
    o = option_mix(size, rng, stress)
    price = np.asarray(bs_price(100.0, o["K"], o["T"], RATE, 0.01, o["sigma"], o["is_call"]))
    vega = np.asarray(
        bs_greeks(100.0, o["K"], o["T"], RATE, 0.01, o["sigma"], o["is_call"])["vega"]
    )
    best, iv = np.inf, np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        iv = np.asarray(implied_vol(price, 100.0, o["K"], o["T"], RATE, 0.01, o["is_call"]))
        best = min(best, time.perf_counter() - start)
    with np.errstate(divide="ignore", invalid="ignore"):
        informative = (price > 1e-300) & (EPS * price / (vega * 100) < 1e-11)
    return {
        "options": size,
        "solves_per_second": round(size / best),
        f"seconds_best_of_{repeats}": round(best, 5),
        "informative_options": int(informative.sum()),
        "max_abs_error_informative": float(np.max(np.abs(iv - o["sigma"])[informative])),
        "nan_informative": int(np.isnan(iv[informative]).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    args = parser.parse_args()
    rng = np.random.default_rng(20261121)
    repeats = {21: 2000, 101: 2000, 401: 500}
    result: dict[str, Any] = {"enrich_chain": {}, "implied_vol": {}}
    for n, runs in repeats.items():
        sys.stderr.write(f"enrich_chain: {n} strikes × {runs} runs…\n")
        result["enrich_chain"][f"{n}_strikes"] = time_enrich(n, 50 if args.quick else runs, rng)
    for label, stress in (("listed_mix", False), ("stress_grid", True)):
        sys.stderr.write(f"implied_vol: 100,000 options ({label})…\n")
        result["implied_vol"][label] = time_implied_vol(
            100_000, 3 if args.quick else 15, rng, stress
        )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
