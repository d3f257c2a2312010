"""``validate``: canonical messages take the fast path, everything else goes through marshmallow."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from common.names import Channel
from common.schemas import SCHEMAS
from tests.support.chains import build_chain
from worker_enricher import validation
from worker_enricher.validation import MessageError, validate, validate_all

TICK = {
    "type": "underlying", "product": "NIFTY", "price": 24012.5, "volume": 1200,
    "timestamp": "2026-11-21T04:00:00.125Z", "seq": 0,
}  # fmt: skip


@pytest.fixture
def schema_loads(monkeypatch: pytest.MonkeyPatch) -> list[Channel]:
    """The channels whose schema ``validate`` called, in order."""
    calls: list[Channel] = []

    class Spy:
        def __init__(self, channel: Channel) -> None:
            self.channel = channel

        def load(self, obj: Any) -> Any:
            calls.append(self.channel)
            return SCHEMAS[self.channel].load(obj)

    monkeypatch.setattr(validation, "SCHEMAS", {c: Spy(c) for c in Channel})
    return calls


def test_canonical_messages_skip_the_schema(schema_loads: list[Channel]) -> None:
    chain = build_chain(21)
    assert validate(Channel.MARKET_OPTION_CHAIN, orjson.dumps(chain)) == chain
    assert validate(Channel.MARKET_UNDERLYING, orjson.dumps(TICK).decode()) == TICK
    assert schema_loads == []


def test_other_messages_are_coerced_by_the_schema(schema_loads: list[Channel]) -> None:
    raw = orjson.dumps(dict(TICK, price="24012.5"))
    assert validate(Channel.MARKET_UNDERLYING, raw) == TICK
    assert schema_loads == [Channel.MARKET_UNDERLYING]


def test_invalid_messages_keep_the_schema_reason() -> None:
    with pytest.raises(MessageError, match=r'^invalid fields: \{"price":\["Must be greater than 0'):
        validate(Channel.MARKET_UNDERLYING, orjson.dumps(dict(TICK, price=0.0)))
    with pytest.raises(MessageError, match=r"^not JSON"):
        validate(Channel.MARKET_UNDERLYING, b"{")


def test_enriched_channels_still_use_their_schema(schema_loads: list[Channel]) -> None:
    with pytest.raises(MessageError):
        validate(Channel.ENRICHED_UNDERLYING, orjson.dumps(TICK))
    assert schema_loads == [Channel.ENRICHED_UNDERLYING]


def test_validate_all_splits_fast_and_slow_alike() -> None:
    raws = [orjson.dumps(TICK), orjson.dumps(dict(TICK, seq=-1)), orjson.dumps(dict(TICK, seq=1))]
    good, bad = validate_all(Channel.MARKET_UNDERLYING, raws)
    assert [m["seq"] for m, _ in good] == [0, 1]
    assert [raw for raw, _ in bad] == [raws[1]]
