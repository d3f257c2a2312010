"""The crash test: a process placing a paper basket on the SQLite store is killed at each step
of the write (``os._exit`` inside it, or SIGKILL from the parent while it waits there) and
another process finds the whole placement or none of it; placing the same client order ids
again then gives exactly one order and one fill per leg, the cash moved once. A process
placing orders in a loop, killed in the middle of one, leaves only whole placements."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from paper.documents import OrderState
from paper.rules import AccountRules
from store.paper.sqlite import SqlitePaperStore
from tests.unit.paper.factories import AT, call, clock, dec, put, quote, request
from tests.unit.store.test_paper_store_contract import invariant

RULES = AccountRules(start_cash={"INR": dec(1_000_000)}, fee_rate=dec("0.0005"))
CALL, PUT = call(24000), put(23000)
LEGS = [request("s1", CALL, "SELL", 75), request("b2", PUT, "BUY", 75)]
QUOTES = [quote(CALL, "119.5", "120.5"), quote(PUT, "79.5", "80.5")]
CASH_AFTER = dec("1002917.50")  # 1,000,000 + 8962.50 − 6037.50 − fees 4.48 and 3.02
STEPS = ("before_order", "after_order", "after_trades", "before_commit", "after_commit")
KILLED = 137


def _die_at(path: str, step: str, mode: str, reached: Any) -> None:
    """Place the basket; at ``step`` exit at once, or tell the parent and wait to be killed."""
    store = SqlitePaperStore(path, RULES, clock=clock)

    def checkpoint(at: str) -> None:
        if at != step:
            return
        if mode == "exit":
            os._exit(KILLED)  # no cleanup, no rollback: as a crash
        reached.set()
        time.sleep(120)  # the parent's SIGKILL ends this

    store.checkpoint = checkpoint
    store.place("alice", LEGS, QUOTES, at=AT)
    os._exit(0)  # the step was never reached: the parent fails on the exit code


def _crash(tmp_path: Path, step: str, mode: str) -> Path:
    path = tmp_path / "optionsflow.db"
    SqlitePaperStore(path, clock=clock).close()
    context = multiprocessing.get_context("spawn")
    reached = context.Event()
    child = context.Process(target=_die_at, args=(str(path), step, mode, reached))
    child.start()
    if mode == "sigkill":
        assert reached.wait(60), "the child never reached the step"
        os.kill(child.pid or 0, signal.SIGKILL)
    child.join(60)
    assert child.exitcode == (KILLED if mode == "exit" else -signal.SIGKILL)
    return path


def _check_whole_or_none(path: Path, *, whole: bool) -> None:
    store = SqlitePaperStore(path, RULES, clock=clock)
    orders, trades = store.orders("alice"), store.trades("alice")
    positions = store.positions("alice", include_closed=True)
    assert (len(orders), len(trades), len(positions)) == ((2, 2, 2) if whole else (0, 0, 0))
    expected = CASH_AFTER if whole else dec("1000000.00")
    assert store.wallet("alice", "INR").cash == expected
    assert invariant(store)
    again = store.place("alice", LEGS, QUOTES, at=AT)
    assert again.changed is not whole
    assert [o.state for o in again.orders] == [OrderState.FILLED] * 2
    assert len(store.orders("alice")) == 2
    assert sorted(t.client_order_id for t in store.trades("alice")) == ["b2", "s1"]  # one each
    assert store.wallet("alice", "INR").cash == CASH_AFTER  # moved once
    assert invariant(store)
    store.close()


@pytest.mark.parametrize("step", STEPS)
def test_a_placement_killed_at_each_step_is_whole_or_absent(tmp_path: Path, step: str) -> None:
    path = _crash(tmp_path, step, "exit")
    _check_whole_or_none(path, whole=step == "after_commit")


@pytest.mark.parametrize("step", ["after_trades", "before_commit", "after_commit"])
def test_a_placement_sigkilled_by_its_parent_is_whole_or_absent(tmp_path: Path, step: str) -> None:
    path = _crash(tmp_path, step, "sigkill")
    _check_whole_or_none(path, whole=step == "after_commit")


def _place_in_a_loop(path: str, die_at: int, reached: Any) -> None:
    """Place o0, o1, … one after the other; wait to be killed at the ``die_at``-th step."""
    store = SqlitePaperStore(path, RULES, clock=clock)
    steps = 0

    def checkpoint(at: str) -> None:
        nonlocal steps
        steps += 1
        if steps == die_at:
            reached.set()
            time.sleep(120)

    store.checkpoint = checkpoint
    for n in range(40):
        store.place("alice", [request(f"o{n}", CALL, "BUY", 1)], QUOTES[:1])
    os._exit(0)


def test_a_process_killed_in_the_middle_of_many_placements_leaves_only_whole_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "optionsflow.db"
    SqlitePaperStore(path, clock=clock).close()
    context = multiprocessing.get_context("spawn")
    reached = context.Event()
    child = context.Process(target=_place_in_a_loop, args=(str(path), 5 * 12 + 3, reached))
    child.start()
    assert reached.wait(60)
    os.kill(child.pid or 0, signal.SIGKILL)  # inside the 13th placement, after its trade
    child.join(60)
    store = SqlitePaperStore(path, RULES, clock=clock)
    orders, trades = store.orders("alice", limit=100), store.trades("alice", limit=100)
    assert len(orders) == len(trades) == 12
    assert {t.order_id for t in trades} == {o.id for o in orders}
    assert store.positions("alice")[0].quantity == 12
    assert invariant(store)
    for n in range(40):  # the client retries everything: each order once, each fill once
        store.place("alice", [request(f"o{n}", CALL, "BUY", 1)], QUOTES[:1])
    assert len(store.trades("alice", limit=100)) == 40
    assert store.positions("alice")[0].quantity == 40
    assert store.wallet("alice", "INR").cash == dec(1_000_000) - 40 * (dec("120.50") + dec("0.06"))
    assert invariant(store)
    store.close()
