"""A product's rules over its messages: fired once per crossing, state kept between batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alerts.rules import Metric, Op
from worker_enricher.alerting.observe import (
    SPOT_SOURCE,
    Observation,
    observe,
    trigger_id,
)
from worker_enricher.alerting.rulebook import product_rules
from worker_enricher.alerting.state import FIELDS, ProductState, decode_state, state_fields

AT = "2026-12-06T09:41:05.000Z"


def _doc(rule_id: str, metric: Metric, op: Op, value: float, **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "owner": "u1", "product": "NIFTY", "metric": metric.value,
            "op": op.value, "value": value, "cooldown_s": 60, "updated_at": "v1",
            **extra}  # fmt: skip


def _tick(second: int, price: float, seq: int | None = None) -> Observation:
    stamp = f"2026-12-06T09:41:{second:02d}.000Z"
    return Observation(SPOT_SOURCE, {"timestamp": stamp, "seq": seq or second, "price": price})


def _chain(
    second: int, expiry: str = "2026-12-10", nearest: bool = True, **fields: Any
) -> Observation:
    stamp = f"2026-12-06T09:41:{second:02d}.000Z"
    chain = {"timestamp": stamp, "seq": second, "expiry": expiry, "strikes": [24_000.0],
             "calls": [{"iv": 0.14, "oi_change": 0}], "puts": [{"iv": 0.15, "oi_change": 0}],
             **fields}  # fmt: skip
    return Observation(expiry, chain, nearest)


class Hash(dict[str, bytes]):
    """The state's Redis hash: written field by field, read as the evaluation reads it."""

    def write(self, state: ProductState, rules: Any) -> None:
        fields = state_fields(state, rules)
        self.update(zip((f.decode() for f in fields[::2]), fields[1::2], strict=True))

    def read(self) -> list[bytes | None]:
        return [self.get(f) for f in FIELDS]


def _run(docs: list[dict[str, Any]], batches: list[list[Observation]]) -> list[list[str]]:
    """Each batch through a state stored and read back between batches: the ids fired."""
    rules = product_rules("NIFTY", "t", docs, 0.0)
    stored = Hash()
    fired = []
    for batch in batches:
        state = decode_state(stored.read(), rules)
        triggers, _ = observe(rules, state, batch, AT)
        stored.write(state, rules)
        fired.append([t.doc["alert_id"] for t in triggers])
    return fired


def test_above_fires_on_entering_and_again_only_after_leaving_and_the_cooldown() -> None:
    docs = [_doc("a", Metric.SPOT, Op.ABOVE, 24_000.0)]
    fired = _run(docs, [
        [_tick(0, 23_990.0), _tick(1, 24_001.0)],  # enters: fires
        [_tick(2, 24_050.0)],  # still above: no
        [_tick(3, 23_999.0), _tick(4, 24_002.0)],  # out and in within the 60 s cooldown: no
        [_tick(5, 23_980.0)],
    ])  # fmt: skip
    assert fired == [["a"], [], [], []]
    late = _run(docs, [[_tick(0, 24_001.0)], [_tick(10, 23_990.0)]])
    assert late == [["a"], []]  # created while above: its first evaluation fires


def test_cooldown_counts_on_the_datas_clock() -> None:
    docs = [_doc("a", Metric.SPOT, Op.CROSSES_ABOVE, 100.0, cooldown_s=2)]
    fired = _run(docs, [[_tick(0, 99.0), _tick(1, 101.0), _tick(2, 99.0), _tick(3, 101.0)]])
    assert fired == [["a", "a"]]  # 09:41:01 and 09:41:03: two seconds apart


def test_crosses_needs_a_previous_value() -> None:
    docs = [_doc("up", Metric.SPOT, Op.CROSSES_ABOVE, 100.0),
            _doc("down", Metric.SPOT, Op.CROSSES_BELOW, 100.0)]  # fmt: skip
    assert _run(docs, [[_tick(0, 105.0)], [_tick(1, 95.0)], [_tick(2, 96.0)]]) == [[], ["down"], []]


def test_a_message_evaluated_already_or_older_fires_nothing() -> None:
    docs = [_doc("a", Metric.SPOT, Op.CROSSES_ABOVE, 100.0)]
    # the batch retried, then a message older than the newest evaluated arrives late
    fired = _run(docs, [[_tick(0, 99.0), _tick(1, 101.0)], [_tick(0, 99.0), _tick(1, 101.0)],
                        [_tick(0, 99.0, seq=1), _tick(1, 101.0)]])  # fmt: skip
    assert fired == [["a"], [], []]


def test_batches_are_taken_in_time_order() -> None:
    docs = [_doc("a", Metric.SPOT, Op.CROSSES_ABOVE, 100.0)]
    assert _run(docs, [[_tick(1, 101.0), _tick(0, 99.0)]]) == [["a"]]


def test_rules_of_an_expiry_and_of_the_nearest() -> None:
    docs = [_doc("near", Metric.ATM_IV, Op.ABOVE, 0.2),
            _doc("far", Metric.ATM_IV, Op.ABOVE, 0.2, expiry="2026-12-31")]  # fmt: skip
    fired = _run(docs, [
        [_chain(0, "2026-12-10", nearest=True, atm_iv=0.25)],
        [_chain(1, "2026-12-31", nearest=False, atm_iv=0.21)],
    ])  # fmt: skip
    assert fired == [["near"], ["far"]]


def test_change_pct_against_the_value_a_window_ago() -> None:
    docs = [_doc("c", Metric.ATM_IV, Op.CHANGE_PCT, 10.0, window_s=8, cooldown_s=0)]
    iv = [0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.23, 0.235]
    batches = [[_chain(s, atm_iv=v)] for s, v in enumerate(iv)]
    fired = _run(docs, batches)
    # 09:41:10: 0.23 against 0.20 (09:41:02, the newest sample 8 s old): +15 % fires; at :11
    # it is still moved (no new crossing)
    assert [i for i, f in enumerate(fired) if f] == [10]


def test_option_metric_rules() -> None:
    docs = [
        _doc("iv", Metric.IV, Op.ABOVE, 0.145, strike=24_000.0, option_type="PUT"),
        _doc("oi", Metric.OI_CHANGE, Op.ABOVE, 1000.0, strike=24_000.0, option_type="CALL"),
    ]
    assert _run(docs, [[_chain(0)]]) == [["iv"]]


def test_the_trigger_document() -> None:
    docs = [_doc("al_x", Metric.IV, Op.ABOVE, 0.145, strike=24_000.0, option_type="PUT",
                 note="puts bid", expiry="2026-12-10",
                 webhook_url="https://example.com/h")]  # fmt: skip
    rules = product_rules("NIFTY", "t", docs, 0.0)
    triggers, evaluated = observe(rules, ProductState.fresh(rules), [_chain(7)], AT)
    assert evaluated == 1
    assert len(triggers) == 1
    assert triggers[0].webhook
    assert triggers[0].doc == {
        "trigger_id": trigger_id("al_x@v1", "2026-12-10", ("2026-12-06T09:41:07.000Z", 7)),
        "alert_id": "al_x", "owner": "u1", "product": "NIFTY", "expiry": "2026-12-10",
        "metric": "iv", "op": "above", "strike": 24_000.0, "option_type": "PUT",
        "value": 0.15, "threshold": 0.145, "timestamp": "2026-12-06T09:41:07.000Z",
        "triggered_at": AT, "note": "puts bid",
    }  # fmt: skip
    assert len(triggers[0].doc["trigger_id"]) == 32


def test_state_follows_each_rule_when_the_rules_change() -> None:
    a = _doc("a", Metric.SPOT, Op.ABOVE, 100.0)
    c = _doc("c", Metric.SPOT, Op.CHANGE_PCT, 5.0, window_s=10)
    rules = product_rules("NIFTY", "t1", [a, c], 0.0)
    state = ProductState.fresh(rules)
    observe(rules, state, [_tick(0, 101.0), _tick(5, 102.0)], AT)
    stored = Hash()
    stored.write(state, rules)
    # a new rule b, c edited (a new updated_at): a keeps its state, b and c start afresh
    b = _doc("b", Metric.SPOT, Op.BELOW, 50.0)
    c2 = {**c, "updated_at": "v2"}
    moved = product_rules("NIFTY", "t2", [c2, b, a], 0.0)
    again = decode_state(stored.read(), moved)
    assert [r.id for r in moved.rules] == ["a", "b", "c"]
    assert again.rules.previous[0] == 102.0
    assert np.isnan(again.rules.previous[1:]).all()
    assert again.rules.last_fired[0] == state.rules.last_fired[0] > -np.inf
    assert np.isneginf(again.samples.times).all()
    assert again.marks == {SPOT_SOURCE: ("2026-12-06T09:41:05.000Z", 5)}
    same = decode_state(stored.read(), rules)
    assert not same.realigned
    assert np.array_equal(same.samples.times, state.samples.times)
    assert np.array_equal(same.rules.previous, state.rules.previous)


def test_only_what_changed_is_written() -> None:
    docs = [_doc("a", Metric.SPOT, Op.CROSSES_ABOVE, 100.0),
            _doc("c", Metric.SPOT, Op.CHANGE_PCT, 5.0, window_s=80)]  # fmt: skip
    rules = product_rules("NIFTY", "t", docs, 0.0)
    stored = Hash()
    written = []
    for second, price in ((0, 99.0), (1, 99.5), (12, 101.0)):
        state = decode_state(stored.read(), rules)
        observe(rules, state, [_tick(second, price)], AT)
        written.append(sorted(f.decode() for f in state_fields(state, rules)[::2]))
        stored.write(state, rules)
    every = sorted(FIELDS)
    # first: everything; then only the values and marks (no sample due before 10 s, nothing
    # fired); at 12 s a crossing and a sample
    assert written == [
        every,
        ["marks", "prev"],
        ["fired", "head", "marks", "prev", "times", "values"],
    ]


@pytest.mark.parametrize("raw", [b"", b"\x00garbage!", None])
def test_an_unreadable_state_starts_fresh(raw: bytes | None) -> None:
    rules = product_rules("NIFTY", "t", [_doc("a", Metric.SPOT, Op.ABOVE, 1.0)], 0.0)
    stored = Hash()
    stored.write(ProductState.fresh(rules), rules)
    for field in FIELDS:
        broken = [raw if f == field else v for f, v in zip(FIELDS, stored.read(), strict=True)]
        state = decode_state(broken, rules)
        assert np.isnan(state.rules.previous).all()
        assert state.marks == {}


def test_unusable_documents_are_left_out() -> None:
    docs = [_doc("ok", Metric.SPOT, Op.ABOVE, 1.0),
            _doc("bad", Metric.IV, Op.ABOVE, 1.0),  # no strike
            {**_doc("paused", Metric.SPOT, Op.ABOVE, 1.0), "active": False},
            {**_doc("other", Metric.SPOT, Op.ABOVE, 1.0), "product": "BANKNIFTY"}]  # fmt: skip
    assert [r.id for r in product_rules("NIFTY", None, docs, 0.0).rules] == ["ok"]
