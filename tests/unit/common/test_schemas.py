"""Message schemas: valid messages pass unchanged, each kind of bad field is named."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from marshmallow import ValidationError

from common.names import Channel
from common.schemas import SCHEMAS, OptionChainSchema, OptionQuoteSchema, UnderlyingTickSchema
from tests.support.chains import build_chain
from tests.support.messages import QUOTE, TICK


def test_valid_messages_load_unchanged() -> None:
    assert UnderlyingTickSchema().load(TICK) == TICK
    assert OptionQuoteSchema().load(QUOTE) == QUOTE
    chain = build_chain(n=5)
    assert OptionChainSchema().load(chain) == chain


def test_every_channel_has_a_schema() -> None:
    assert set(SCHEMAS) == set(Channel)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"price": -1.0}, "price"),
        ({"price": math.nan}, "price"),
        ({"price": "24000"}, None),  # numeric strings are accepted by Float: checked below
        ({"seq": 1.5}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": -1}, "seq"),
        ({"volume": "lots"}, "volume"),
        ({"timestamp": "2026-11-21 04:00:00"}, "timestamp"),
        ({"timestamp": "2026-11-21T04:00:00Z"}, "timestamp"),
        ({"product": "nifty"}, "product"),
        ({"product": "NIFTY\n"}, "product"),
        ({"timestamp": "2026-11-21T04:00:00.000Z\n"}, "timestamp"),
        ({"type": "tick"}, "type"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_tick_fields_are_named(patch: dict[str, Any], field: str | None) -> None:
    message = dict(TICK, **patch)
    if field is None:
        assert UnderlyingTickSchema().load(message)["price"] == 24000.0
        return
    with pytest.raises(ValidationError) as info:
        UnderlyingTickSchema().load(message)
    assert field in info.value.messages_dict


def test_missing_fields_are_named() -> None:
    message = dict(QUOTE)
    del message["oi"]
    with pytest.raises(ValidationError) as info:
        OptionQuoteSchema().load(message)
    assert "oi" in info.value.messages_dict


@pytest.mark.parametrize(
    ("patch", "field"),
    [({"option_type": "C"}, "option_type"), ({"expiry": "26-11-2026"}, "expiry"),
     ({"bid": -0.05}, "bid"), ({"strike": 0}, "strike")],
)  # fmt: skip
def test_bad_quote_fields_are_named(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        OptionQuoteSchema().load(dict(QUOTE, **patch))
    assert field in info.value.messages_dict


def test_chain_rows_must_match_strikes() -> None:
    chain = build_chain(n=5)
    short = dict(chain, puts=chain["puts"][:-1])
    with pytest.raises(ValidationError, match="expected 5 rows"):
        OptionChainSchema().load(short)
    shuffled = copy.deepcopy(chain)
    shuffled["calls"][0]["strike"] += 1
    with pytest.raises(ValidationError, match="row 0 has strike"):
        OptionChainSchema().load(shuffled)
    unsorted = dict(chain, strikes=list(reversed(chain["strikes"])))
    with pytest.raises(ValidationError, match="strictly increasing"):
        OptionChainSchema().load(unsorted)


def test_bad_row_is_located() -> None:
    chain = build_chain(n=5)
    chain["calls"][2]["oi"] = -3
    with pytest.raises(ValidationError) as info:
        OptionChainSchema().load(chain)
    assert info.value.messages_dict["calls"] == {
        2: {
            "oi": ["Must be greater than or equal to 0 and less than or equal to 9007199254740991."]
        }
    }
