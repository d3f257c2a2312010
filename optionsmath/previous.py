"""Each chain's previous snapshot, matched strike by strike, for OI change and buildup.

A previous snapshot that is itself a chain of the batch is read from the
batch's rows; any other is parsed once, however many chains name it. An
unusable snapshot (missing fields, rows that do not match its strikes,
strikes not increasing) counts as none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optionsmath.chain_metrics import (
    FloatArray,
    IntArray,
    Segments,
    matching_indices,
)
from optionsmath.rows import OI, quote_price, stacked_rows, traded_price


def _snapshot_rows(previous: Mapping[str, Any]) -> tuple[FloatArray, FloatArray] | None:
    """Strikes and rows (calls, then puts) of a previous snapshot; ``None`` if unusable."""
    try:
        strikes = np.asarray(previous["strikes"], dtype=np.float64).reshape(-1)
        sizes = (len(previous["calls"]), len(previous["puts"]))
        rows, _, (error,) = stacked_rows([previous])
    except (KeyError, TypeError, ValueError):
        return None
    if error is not None or sizes != (strikes.size, strikes.size):
        return None
    increasing = bool((strikes[1:] > strikes[:-1]).all())  # as np.diff > 0, NaN and inf too
    return (strikes, rows) if increasing else None


@dataclass
class _Snapshots:
    """The usable previous snapshots of a batch's chains, and where their rows are: rows of a
    chain of the batch are the batch's own, rows of any other snapshot follow them."""

    chains: list[int] = field(default_factory=list)
    """The chains (positions in the batch) that have one."""
    strikes: list[FloatArray] = field(default_factory=list)
    first_rows: list[int] = field(default_factory=list)
    outside: list[FloatArray] = field(default_factory=list)
    """Rows of the snapshots that are not chains of the batch."""


def _snapshots(
    chains: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any] | None],
    strikes: FloatArray, runs: Segments,
) -> _Snapshots:  # fmt: skip
    in_batch = {id(chain): c for c, chain in enumerate(chains)}
    parsed: dict[int, tuple[FloatArray, int] | None] = {}  # each outside snapshot once
    found = _Snapshots()
    next_row = 2 * runs.ids.size
    for c, snapshot in enumerate(previous):
        if not snapshot:
            continue
        k = in_batch.get(id(snapshot))
        if k is not None:
            start = int(runs.starts[k])
            where: tuple[FloatArray, int] | None = (
                strikes[start : start + runs.sizes[k]],
                2 * start,
            )
        else:
            if id(snapshot) not in parsed:
                usable = _snapshot_rows(snapshot)
                parsed[id(snapshot)] = None if usable is None else (usable[0], next_row)
                if usable is not None:
                    found.outside.append(usable[1])
                    next_row += usable[1].shape[0]
            where = parsed[id(snapshot)]
        if where is not None and where[0].size:  # no strikes: nothing to compare with
            found.chains.append(c)
            found.strikes.append(where[0])
            found.first_rows.append(where[1])
    return found


def previous_values(
    chains: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any] | None],
    strikes: FloatArray, runs: Segments, call: IntArray, put: IntArray, m: FloatArray,
    traded: FloatArray,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Traded price and OI of every option of the batch in its chain's previous snapshot.

    ``chains`` laid end to end as ``runs`` of ``strikes``, the options of strike
    ``j`` at rows ``call[j]`` and ``put[j]`` of ``m``, their traded prices in
    ``traded``. NaN where a chain has no usable previous snapshot or the strike
    was not listed in it.
    """
    price, oi = np.full(m.shape[0], np.nan), np.full(m.shape[0], np.nan)
    found = _snapshots(chains, previous, strikes, runs)
    if not found.chains:
        return price, oi
    source_traded, source_oi = traded, m[:, OI]
    if found.outside:
        outside = np.concatenate(found.outside)
        source_traded = np.concatenate([traded, traded_price(outside, quote_price(outside))])
        source_oi = np.concatenate([source_oi, outside[:, OI]])
    # The strikes of the chains with a snapshot, each in the run of its snapshot.
    rank = np.full(runs.count, -1)
    rank[found.chains] = np.arange(len(found.chains))
    strike_rank = rank[runs.ids]
    mine = np.flatnonzero(strike_rank >= 0)
    snapshot_runs = Segments.of_sizes([s.size for s in found.strikes])
    pos = matching_indices(
        strikes[mine], strike_rank[mine], np.concatenate(found.strikes), snapshot_runs
    )
    hit = pos >= 0
    mine, pos = mine[hit], pos[hit]
    r = snapshot_runs.ids[pos]
    row = np.asarray(found.first_rows)[r] + (pos - snapshot_runs.starts[r])  # its call's row
    for options, rows in ((call[mine], row), (put[mine], row + snapshot_runs.sizes[r])):
        price[options], oi[options] = source_traded[rows], source_oi[rows]
    return price, oi
