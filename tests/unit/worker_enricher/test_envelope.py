"""The subscriber's envelope check: the routing fields every market message must carry."""

from __future__ import annotations

import orjson
import pytest

from common.messages import MessageError
from common.names import Channel
from worker_enricher.subscriber.service import Envelope, envelope

TICK = Channel.MARKET_UNDERLYING
QUOTE = Channel.MARKET_OPTION_QUOTE
CHAIN = Channel.MARKET_OPTION_CHAIN
LIMIT = 1024


def _raw(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_valid_envelopes() -> None:
    tick = _raw(type="underlying", product="NIFTY", price=24_010.5, volume=3, seq=0)
    assert envelope(TICK, tick, LIMIT) == Envelope(TICK, "NIFTY", 0, None)
    chain = _raw(product="NIFTY", expiry="2026-11-26", seq=17)
    assert envelope(CHAIN, chain, LIMIT) == Envelope(CHAIN, "NIFTY", 17, "2026-11-26")
    quote = _raw(product="TCS", expiry="2026-11-27", seq=2**52)
    assert envelope(QUOTE, quote, LIMIT) == Envelope(QUOTE, "TCS", 2**52, "2026-11-27")


def test_only_the_routing_fields_are_checked() -> None:
    # Full validation is the workers' job: a tick without a price passes the envelope.
    assert envelope(TICK, _raw(product="NIFTY", seq=5), LIMIT) == Envelope(TICK, "NIFTY", 5, None)


def test_size_limit() -> None:
    padding = "x" * LIMIT
    raw = _raw(product="NIFTY", seq=1, pad=padding)[: LIMIT + 1]
    with pytest.raises(
        MessageError, match=f"message of {LIMIT + 1} bytes exceeds the limit of {LIMIT}"
    ):
        envelope(TICK, raw, LIMIT)
    base = _raw(product="NIFTY", seq=1, pad="")
    exact = _raw(product="NIFTY", seq=1, pad="x" * (LIMIT - len(base)))
    assert len(exact) == LIMIT
    assert envelope(TICK, exact, LIMIT).seq == 1  # the limit itself is allowed


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", r"^not JSON: JSON is malformed"),
        (b'{"product": "NIFTY", "seq": 1', r"^not JSON: "),
        (b"", r"^not JSON: "),
        (b"\xff\xfe", r"^not JSON: "),
        (b'[{"product": "NIFTY", "seq": 1}]', r"^invalid message: Expected `object`, got `array`$"),
        (b'"NIFTY"', r"^invalid message: Expected `object`, got `str`$"),
        (b"null", r"^invalid message: Expected `object`, got `null`$"),
        (_raw(product="NIFTY"), r"^seq: missing or not a non-negative integer$"),
        (_raw(product="NIFTY", seq=None), r"^seq: missing or not a non-negative integer$"),
        (_raw(product="NIFTY", seq=True), r"^seq: missing or not a non-negative integer$"),
        (_raw(product="NIFTY", seq=-1), r"^seq: missing or not a non-negative integer$"),
        (_raw(product="NIFTY", seq=1.0), r"^seq: missing or not a non-negative integer$"),
        (_raw(product="NIFTY", seq="1"), r"^seq: missing or not a non-negative integer$"),
        (_raw(seq=1), r"^product: missing or not a string$"),
        (_raw(product="", seq=1), r"^product: missing or not a string$"),
        (_raw(product=7, seq=1), r"^product: missing or not a string$"),
    ],
)
def test_rejected_envelopes(raw: bytes, reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        envelope(TICK, raw, LIMIT)


@pytest.mark.parametrize("expiry", [None, 20261126, ["2026-11-26"]])
def test_a_chain_needs_an_expiry(expiry: object) -> None:
    fields: dict[str, object] = {"product": "NIFTY", "seq": 1}
    if expiry is not None:
        fields["expiry"] = expiry
    with pytest.raises(MessageError, match=r"^expiry: missing or not a string$"):
        envelope(CHAIN, orjson.dumps(fields), LIMIT)
    # Other channels route without one (a quote's expiry is checked by the worker).
    assert envelope(QUOTE, orjson.dumps(fields), LIMIT).expiry is None


def test_product_is_checked_before_seq() -> None:
    with pytest.raises(MessageError, match=r"^product"):
        envelope(TICK, _raw(seq=-1), LIMIT)
