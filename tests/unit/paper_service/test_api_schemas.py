"""The strategy API's schemas (common/api/strategies.py): what the gateway and the service
accept, how faults are named (``legs[2].strike``, as the math names them), and the choices
and bounds pinned to the strategy math they repeat."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from marshmallow import ValidationError

from common.api import strategies as api
from common.api.strategies import (
    EvaluateBody,
    LegSchema,
    StrategyBody,
    StrategyIdPath,
    TemplateQuery,
    bracketed,
)
from optionsmath import strategy as math

CALL = {"product": "NIFTY", "expiry": "2026-11-26", "strike": 24000, "option_type": "CALL",
        "side": "BUY", "quantity": 75}  # fmt: skip
UNDERLYING = {"product": "NIFTY", "side": "SELL", "quantity": 75}


def _errors(schema: Any, data: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    messages: dict[str, list[str]] = info.value.messages  # type: ignore[assignment]
    return messages


def test_choices_and_bounds_repeat_the_math() -> None:
    assert tuple(t.value for t in math.Template) == api.TEMPLATES
    assert tuple(s.value for s in math.Side) == api.SIDES
    assert api.MAX_LEGS <= math.MAX_LEGS
    assert api.MAX_DATES <= math.MAX_DATES
    assert api.MAX_POINTS < math.MAX_GRID
    assert api.MIN_POINTS <= api.DEFAULT_POINTS <= api.MAX_POINTS


def test_a_leg_loads_with_every_member() -> None:
    assert LegSchema().load(CALL) == {**CALL, "strike": 24000.0, "quantity": 75.0, "price": None}
    assert LegSchema().load({**UNDERLYING, "price": 24010.5}) == {
        **UNDERLYING, "expiry": None, "strike": None, "option_type": None, "quantity": 75.0,
        "price": 24010.5,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"strike": None}, "strike", "Required for a CALL leg."),
        ({"expiry": None}, "expiry", "Required for a CALL leg."),
        ({"option_type": None}, "expiry", "Must be null for the underlying (option_type null)."),
        ({"option_type": "CE"}, "option_type", "Must be one of: CALL, PUT."),
        ({"side": "LONG"}, "side", "Must be one of: BUY, SELL."),
        ({"quantity": 0}, "quantity", "Must be greater than 0.0"),
        ({"quantity": "75"}, "quantity", "Not a valid number."),
        ({"quantity": True}, "quantity", "Not a valid number."),
        (
            {"quantity": 2e9},
            "quantity",
            "Must be greater than 0.0 and less than or equal to 1000000000.0.",
        ),
        ({"strike": -1}, "strike", "Must be greater than 0.0"),
        ({"price": -0.5}, "price", "Must be greater than or equal to 0.0."),
        ({"expiry": "26-11-2026"}, "expiry", "expiry must look like 2026-01-29"),
        ({"product": "nifty"}, "product", "String does not match expected pattern."),
        ({"lots": 1}, "lots", "Unknown field."),
    ],
)
def test_each_fault_of_a_leg_is_named(change: dict[str, Any], field: str, message: str) -> None:
    errors = _errors(EvaluateBody(), {"legs": [UNDERLYING, {**CALL, **change}]})
    assert list(errors) == [f"legs[1].{field}"]
    assert errors[f"legs[1].{field}"][0].startswith(message)


def test_the_body_names_its_own_faults_in_brackets() -> None:
    errors = _errors(EvaluateBody(), {
        "legs": [CALL, 5, {**CALL, "strike": 0}], "dates": ["2026-12-01T00:00:00Z", "soon"],
        "points": 50, "grid": [1, 2],
    })  # fmt: skip
    assert errors == {
        "legs[1]": ["Invalid input type."],
        "legs[2].strike": ["Must be greater than 0.0."],
        "dates[1]": ["Not a valid datetime."],
        "points": ["Must be greater than or equal to 51 and less than or equal to 1001."],
        "grid": ["Unknown field."],
    }
    assert _errors(EvaluateBody(), {"legs": []}) == {"legs": ["Length must be between 1 and 12."]}
    assert _errors(EvaluateBody(), {"legs": [CALL] * 13}) == {
        "legs": ["Length must be between 1 and 12."]
    }
    assert _errors(EvaluateBody(), {"legs": [CALL], "dates": ["2026-12-01T00:00:00Z"] * 5}) == {
        "dates": ["Length must be between 0 and 4."]
    }
    assert _errors(EvaluateBody(), {"dates": []}) == {"legs": ["Missing data for required field."]}
    assert _errors(EvaluateBody(), {"legs": [CALL], "points": 101.0}) == {
        "points": ["Not a valid integer."]
    }


def test_legs_of_two_products_name_the_first_other_one() -> None:
    legs = [CALL, {**CALL, "strike": 24100}, {**CALL, "product": "BANKNIFTY"}, UNDERLYING]
    message = "Every leg is of one product (NIFTY), not BANKNIFTY."
    assert _errors(EvaluateBody(), {"legs": legs}) == {"legs[2].product": [message]}
    assert _errors(StrategyBody(), {"name": "x", "legs": legs}) == {"legs[2].product": [message]}


def test_an_evaluate_body_loads_dates_as_aware_utc_and_points() -> None:
    loaded = EvaluateBody().load(
        {"legs": [CALL], "dates": ["2026-11-24T15:30:00+05:30", "2026-11-25T10:00:00"],
         "points": 51}
    )  # fmt: skip
    assert loaded["dates"] == [
        dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC),  # naive is UTC
    ]
    assert loaded["points"] == 51
    assert EvaluateBody().load({"legs": [CALL]})["dates"] == []
    assert EvaluateBody().load({"legs": [CALL]})["points"] is None


def test_a_strategy_body() -> None:
    loaded = StrategyBody().load({"name": "condor", "legs": [CALL]})
    assert loaded == {"name": "condor", "legs": [LegSchema().load(CALL)], "note": None}
    assert _errors(StrategyBody(), {"name": "", "legs": [CALL]}) == {
        "name": ["Length must be between 1 and 80."]
    }
    assert list(_errors(StrategyBody(), {"name": "n" * 81, "legs": [CALL], "note": "x" * 281})) == [
        "name", "note",
    ]  # fmt: skip
    assert _errors(StrategyBody(), {"legs": [CALL], "owner": "bob"}) == {
        "name": ["Missing data for required field."], "owner": ["Unknown field."],
    }  # fmt: skip


def test_the_template_query_and_its_defaults() -> None:
    assert TemplateQuery().load({"name": "iron_condor"}) == {
        "name": "iron_condor", "expiry": None, "far_expiry": None, "quantity": None,
        "width": 1, "option_type": "CALL", "reverse": False,
    }  # fmt: skip
    loaded = TemplateQuery().load({"name": "calendar", "expiry": "2026-11-26",
                                   "far_expiry": "2026-12-03", "quantity": "150", "width": "2",
                                   "option_type": "PUT", "reverse": "true"})  # fmt: skip
    assert (loaded["quantity"], loaded["width"], loaded["reverse"]) == (150.0, 2, True)
    errors = _errors(TemplateQuery(), {"name": "condor", "width": "0", "quantity": "nan"})
    assert sorted(errors) == ["name", "quantity", "width"]


def test_the_strategy_id_path() -> None:
    assert StrategyIdPath().load({"strategy_id": "st_" + "a" * 22})
    for bad in ("st_" + "a" * 21, "al_" + "a" * 22, "st_" + "a" * 21 + "!"):
        assert list(_errors(StrategyIdPath(), {"strategy_id": bad})) == ["strategy_id"]


def test_bracketed_flattens_nested_messages() -> None:
    assert bracketed({"legs": {0: {"_schema": ["bad"]}, 3: {"a": {"b": ["x", "y"]}}}}) == {
        "legs[0]": ["bad"], "legs[3].a.b": ["x", "y"],
    }  # fmt: skip
    assert bracketed(["whole body"]) == {"_schema": ["whole body"]}
    assert bracketed({"dates": {1: ["no"]}, "points": ["p"]}) == {
        "dates[1]": ["no"], "points": ["p"],
    }  # fmt: skip
