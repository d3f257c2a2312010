"""Chain batches: validate, enrich against the previous snapshot, store, cache and publish."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import orjson

from common import latest
from common.deadletter import push_deadletters
from common.names import Channel, previous_chains_key
from common.products import serving_registry
from common.timestamps import now_ts
from optionsmath import enrich_chains
from worker_enricher.alerting.guard import evaluate_alerts
from worker_enricher.cache import cache_and_publish
from worker_enricher.context import WorkerContext
from worker_enricher.validation import validate_all

log = logging.getLogger(__name__)

PREVIOUS_KEPT = 64
"""Raw snapshots kept per (product, expiry), so a task taken out of order finds its predecessor."""

Group = tuple[str, str]


def _previous(ctx: WorkerContext, firsts: dict[Group, int]) -> dict[Group, dict[str, Any]]:
    """The newest stored raw chain older than each group's first seq, in one round trip."""
    pipe = ctx.redis.pipeline(transaction=False)
    groups = list(firsts)
    for product, expiry in groups:
        key = previous_chains_key(product, expiry)
        pipe.zrevrangebyscore(key, f"({firsts[product, expiry]}", "-inf", start=0, num=1)
    found: dict[Group, dict[str, Any]] = {}
    for group, members in zip(groups, pipe.execute(), strict=True):
        if members:
            found[group] = orjson.loads(members[0])
    return found


Pair = tuple[dict[str, Any], bytes | str]
Outcome = dict[str, Any] | ValueError


def _plan(
    valid: list[Pair], previous: dict[Group, dict[str, Any]], failed: set[int]
) -> list[tuple[int, dict[str, Any] | None]]:
    """``(index, previous chain)`` of each chain to enrich, in order: each is compared with the
    last chain of its group enriched before it (the first with the one found in Redis)."""
    plan: list[tuple[int, dict[str, Any] | None]] = []
    for group, indices in groupby(
        range(len(valid)), key=lambda i: (valid[i][0]["product"], valid[i][0]["expiry"])
    ):
        prev = previous.get(group)
        for i in indices:
            chain = valid[i][0]
            if prev is not None and chain["seq"] == prev["seq"]:
                continue  # a repeat in the batch: enriched against itself, its OI change is 0
            plan.append((i, prev))
            if i not in failed:
                prev = chain
    return plan


def _enrich_sorted(
    ctx: WorkerContext, valid: list[Pair]
) -> tuple[list[tuple[dict[str, Any], Pair]], list[tuple[bytes | str, str]]]:
    """Enriched chains in (product, expiry, seq) order; each uses the snapshot before it.

    The whole batch goes to ``enrich_chains`` at once. A chain the math cannot use
    (``ValueError``, whatever its previous snapshot) is no predecessor, so the rare
    batch with one is planned again with that known, and only chains whose
    predecessor changed are enriched again.
    """
    s = ctx.settings
    valid.sort(key=lambda pair: (pair[0]["product"], pair[0]["expiry"], pair[0]["seq"]))
    firsts: dict[Group, int] = {}
    for chain, _ in valid:
        firsts.setdefault((chain["product"], chain["expiry"]), chain["seq"])
    previous = _previous(ctx, firsts)
    processed_at = now_ts()
    done: dict[int, tuple[dict[str, Any] | None, Outcome]] = {}  # with the previous used
    failed: set[int] = set()
    while True:
        plan = _plan(valid, previous, failed)
        todo = [
            (i, prev)
            for i, prev in plan
            if i not in failed and (i not in done or done[i][0] is not prev)
        ]
        if not todo:
            break
        outcomes = enrich_chains(
            [(valid[i][0], prev) for i, prev in todo],
            conventions=serving_registry(s),
            processed_at=processed_at,
        )
        for (i, prev), outcome in zip(todo, outcomes, strict=True):
            done[i] = (prev, outcome)
            if isinstance(outcome, ValueError):
                failed.add(i)
    enriched: list[tuple[dict[str, Any], Pair]] = []
    rejected: list[tuple[bytes | str, str]] = []
    for i, _ in plan:
        outcome = done[i][1]
        if isinstance(outcome, ValueError):  # fields the schema admits but the math cannot use
            rejected.append((valid[i][1], f"cannot enrich: {outcome}"))
        else:
            enriched.append((outcome, valid[i]))
    return enriched, rejected


def process_chains(ctx: WorkerContext, raws: Sequence[bytes | str]) -> int:
    """Enrich, persist, cache and publish a batch of raw chains; returns how many were enriched.

    Raises the store's or Redis's error for the task to retry: the store skips
    snapshots it holds already, so a retried batch never duplicates one.
    """
    channel = Channel.MARKET_OPTION_CHAIN
    valid, rejected = validate_all(channel, raws)
    enriched, unusable = _enrich_sorted(ctx, valid)
    if enriched:  # first, so a retry after a store error has written nothing else
        ctx.store.insert_chains([message for message, _ in enriched])
    pipe = ctx.redis.pipeline(transaction=False)
    push_deadletters(
        pipe, channel, rejected + unusable, "worker", ctx.settings.pipeline.deadletter_max
    )
    ttl = ctx.settings.pipeline.latest_ttl_s
    for message, (chain, raw) in enriched:
        key = previous_chains_key(chain["product"], chain["expiry"])
        pipe.zadd(key, {raw if isinstance(raw, bytes) else raw.encode(): chain["seq"]})
        pipe.zremrangebyrank(key, 0, -PREVIOUS_KEPT - 1)
        pipe.expire(key, ttl)
        cache_and_publish(
            pipe, ctx.scripts,
            entry=latest.chain(message["product"], message["expiry"]),
            channel=Channel.ENRICHED_OPTION_CHAIN, message=message,
            payload=orjson.dumps(message), ttl_s=ttl,
        )  # fmt: skip
    ctx.scripts.execute(pipe)  # a NOSCRIPT re-sends only the scripts: nothing else twice
    messages = [message for message, _ in enriched]
    evaluate_alerts(ctx.alerts.on_chains, messages)
    evaluate_alerts(ctx.resting.on_chains, messages, "resting paper orders")
    evaluate_alerts(ctx.settlement.on_chains, messages, "paper settlement")
    return len(enriched)
