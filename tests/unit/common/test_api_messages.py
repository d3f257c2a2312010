"""The REST answer schemas derived from the message structs document exactly the messages."""

from __future__ import annotations

from typing import Any

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import ValidationError

from common.api.data import ChainResponse, UnderlyingResponse
from common.api.messages import schema_of, validate_expiry
from common.messages import EnrichedChain, EnrichedRow, EnrichedUnderlying


def _components(schema: type[Any]) -> dict[str, Any]:
    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema(schema.__name__, schema=schema)
    found: dict[str, Any] = spec.to_dict()["components"]["schemas"]
    return found


def test_answers_have_the_fields_of_their_message() -> None:
    age = ["data_age_stale", "data_age_s"]  # only on data older than its product's limit
    assert list(ChainResponse().fields) == [*EnrichedChain.__struct_fields__, "stale", *age]
    assert list(UnderlyingResponse().fields) == [*EnrichedUnderlying.__struct_fields__, *age]


def test_one_schema_class_per_struct() -> None:
    assert schema_of(EnrichedRow) is schema_of(EnrichedRow)
    assert schema_of(EnrichedRow).__name__ == "EnrichedRowSchema"


def test_constraints_and_descriptions_reach_the_openapi_document() -> None:
    found = _components(ChainResponse)
    chain, row = found["ChainResponse"], found["EnrichedRow"]
    assert chain["additionalProperties"] is False
    assert "venue" not in chain["required"]  # optional: absent when it does not apply
    assert chain["properties"]["venue"]["nullable"] is True
    assert chain["properties"]["strikes"]["minItems"] == 1
    assert chain["properties"]["strikes"]["maxItems"] == 2000
    assert chain["properties"]["total_call_oi"]["maximum"] == 2**53 - 1
    assert chain["properties"]["pcr_oi"]["nullable"] is True
    assert chain["properties"]["calls"]["items"] == {"$ref": "#/components/schemas/EnrichedRow"}
    assert row["properties"]["vega"]["description"] == "Price change per volatility point (0.01)."
    assert row["properties"]["buildup"]["enum"] == [
        "long_buildup", "short_buildup", "short_covering", "long_unwinding", None,
    ]  # fmt: skip
    assert "mark" in row["properties"]


@pytest.mark.parametrize("value", ["2026-02-30", "2026-W48-4", "26-11-2026", "2026-11-26\n"])
def test_validate_expiry_refuses_what_is_no_date(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_expiry(value)
    validate_expiry("2028-02-29")


def test_volume_and_oi_are_documented_as_numbers_that_may_be_fractional() -> None:
    found = _components(ChainResponse)
    chain, row = found["ChainResponse"]["properties"], found["EnrichedRow"]["properties"]
    assert (row["oi"]["type"], row["oi"]["minimum"], row["oi"]["maximum"]) == (
        "number", 0, 2**53 - 1
    )  # fmt: skip
    assert "fractional" in row["oi"]["description"]
    assert (row["volume"]["type"], row["oi_change"]["type"]) == ("number", "number")
    assert row["oi_change"]["nullable"] is True
    assert row["oi_change"]["minimum"] == -(2**53 - 1)
    assert chain["total_put_oi"]["type"] == "number"
    assert chain["seq"]["type"] == "integer"  # a count that stays one


def test_a_quantity_field_dumps_an_int_as_an_int_and_refuses_what_is_no_number() -> None:
    schema = schema_of(EnrichedRow)()
    assert schema.fields["oi"].serialize("oi", {"oi": 100}) == 100
    assert type(schema.fields["oi"].serialize("oi", {"oi": 100})) is int
    assert schema.fields["oi"].serialize("oi", {"oi": 0.3}) == 0.3
    for bad in (True, float("nan"), float("inf"), "12"):
        with pytest.raises(ValidationError):
            schema.fields["oi"].deserialize(bad)
    with pytest.raises(ValidationError):
        schema.fields["oi"].deserialize(-0.1)  # the struct's range
