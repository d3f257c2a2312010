"""Benchmark of the options math: ``enrich_chain`` latency, batches and implied-vol throughput.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/enrich.py`` (or ``make bench``).
Prints one JSON object: median and p99 of ``enrich_chain`` for chains of 21,
101 and 401 strikes (calls and puts, with a previous snapshot, so OI change
and buildup are computed too); the cost per chain of ``enrich_chains`` on
batches of 36 chains of 21 and 101 strikes, with and without previous
snapshots, next to ``enrich_chain`` on the same chains one by one; and
implied-vol solves per second on 100,000 options at full accuracy, with the
worst error against the volatility that priced them. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: set before NumPy loads

import numpy as np

from optionsmath import (
    bs_greeks,
    bs_price,
    enrich_chain,
    enrich_chains,
    implied_vol,
)

RATE = 0.065
EPS = float(np.finfo(np.float64).eps)
BATCH = 36
"""Chains per ``enrich_chains`` batch: a busy worker's micro-batch."""


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


def ms(samples: np.ndarray, q: float = 50.0, per: int = 1) -> float:
    return round(float(np.percentile(samples, q)) / per / 1e6, 4)


def time_enrich(n: int, repeats: int, rng: np.random.Generator) -> dict[str, float]:
    previous, chain = synthetic_chain(n, 1, rng), synthetic_chain(n, 2, rng)
    samples = timings(lambda: enrich_chain(chain, previous), repeats)
    return {"options": 2 * n, "runs": repeats, "median_ms": ms(samples), "p99_ms": ms(samples, 99)}


def one_by_one(items: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
    for chain, previous in items:
        enrich_chain(chain, previous)


def time_batch(n: int, repeats: int, rng: np.random.Generator) -> dict[str, Any]:
    """``enrich_chains`` on :data:`BATCH` chains of one (product, expiry), against
    ``enrich_chain`` on the same pairs one by one: each chain's previous snapshot is the
    chain before it, as the worker pairs them (the first's comes from outside the batch)."""
    chains = [synthetic_chain(n, seq, rng) for seq in range(BATCH + 1)]
    result: dict[str, Any] = {"chains": BATCH, "options_per_chain": 2 * n}
    for label, with_previous in (("with_previous", True), ("without_previous", False)):
        items = [(c, p if with_previous else None) for p, c in itertools.pairwise(chains)]
        batch = timings(partial(enrich_chains, items), repeats)
        single = timings(partial(one_by_one, items), max(repeats // 4, 3))
        result[label] = {
            "batch_runs": repeats,
            "batch_median_ms": ms(batch),
            "batch_p99_ms": ms(batch, 99),
            "per_chain_batch_median_ms": ms(batch, per=BATCH),
            "per_chain_single_median_ms": ms(single, per=BATCH),
            "speedup": round(float(np.median(single) / np.median(batch)), 2),
        }
    return result


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
    result: dict[str, Any] = {"enrich_chain": {}, "enrich_chains": {}, "implied_vol": {}}
    for n, runs in repeats.items():
        sys.stderr.write(f"enrich_chain: {n} strikes × {runs} runs…\n")
        result["enrich_chain"][f"{n}_strikes"] = time_enrich(n, 50 if args.quick else runs, rng)
    for n, runs in {21: 200, 101: 60}.items():
        sys.stderr.write(f"enrich_chains: {BATCH} chains of {n} strikes × {runs} runs…\n")
        result["enrich_chains"][f"{n}_strikes"] = time_batch(n, 8 if args.quick else runs, rng)
    for label, stress in (("listed_mix", False), ("stress_grid", True)):
        sys.stderr.write(f"implied_vol: 100,000 options ({label})…\n")
        result["implied_vol"][label] = time_implied_vol(
            100_000, 3 if args.quick else 15, rng, stress
        )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
