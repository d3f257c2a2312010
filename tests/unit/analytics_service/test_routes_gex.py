"""gex: gamma exposure across expiries, against the chains' own per-row values."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from common.api.analytics import GexSchema
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.unit.analytics_service.support import (
    EXPIRED,
    EXPIRY_2,
    at,
    enriched,
    get_error,
    get_ok,
    wire,
)

pytestmark = pytest.mark.redis

LOT = 75
"""NIFTY's contract size in the service's registry; the chains here are enriched with the
default conventions (contracts of 1), so the service's GEX is 75 times theirs."""


@pytest.fixture
def chains(store: SqliteStore) -> dict[str, dict[str, Any]]:
    """Two live expiries enriched at the same spot (the far one 10 minutes later, 5 strikes)
    and an expired one; put OI twice the calls' in the near chain."""
    near = enriched(at(0), 2, put_oi_factor=2)
    far = enriched(at(10), 3, n=5, expiry=EXPIRY_2)
    store.insert_chains([enriched(at(-5), 1), near, far, enriched(at(20), 4, expiry=EXPIRED)])
    return {"near": near, "far": far}


def _by_strike(*chains: dict[str, Any]) -> dict[float, tuple[float, float]]:
    """Σ over the chains of each strike's (call gex, put gex), in contracts of 1."""
    sums: dict[float, tuple[float, float]] = {}
    for chain in chains:
        for call, put in zip(chain["calls"], chain["puts"], strict=True):
            c, p = sums.get(call["strike"], (0.0, 0.0))
            sums[call["strike"]] = (c + (call["gex"] or 0.0), p + (put["gex"] or 0.0))
    return sums


def _check_strikes(body: dict[str, Any], expected: dict[float, tuple[float, float]]) -> None:
    assert [row["strike"] for row in body["strikes"]] == sorted(expected)
    for row in body["strikes"]:
        call, put = expected[row["strike"]]
        assert row["call_gex"] == pytest.approx(LOT * call, rel=1e-9, abs=1e-6)
        assert row["put_gex"] == pytest.approx(LOT * put, rel=1e-9, abs=1e-6)
        assert row["net_gex"] == pytest.approx(row["call_gex"] + row["put_gex"], rel=1e-12)


def test_one_expiry_is_its_chain_revalued_where_it_was_enriched(
    client: FlaskClient, chains: dict[str, dict[str, Any]]
) -> None:
    near = chains["near"]
    body = get_ok(client, f"/analytics/NIFTY/gex?expiry={EXPIRY}", GexSchema)
    assert (body["product"], body["expiries"]) == ("NIFTY", [EXPIRY])
    assert (body["timestamp"], body["spot"]) == (wire(at(0)), 24_010.0)
    _check_strikes(body, _by_strike(near))
    assert body["call_gex"] == pytest.approx(LOT * near["call_gex"], rel=1e-9)
    assert body["put_gex"] == pytest.approx(LOT * near["put_gex"], rel=1e-9)
    assert body["net_gex"] == pytest.approx(LOT * near["net_gex"], rel=1e-9)
    assert body["net_gex"] < 0  # twice the put OI
    assert (body["call_wall"], body["put_wall"]) == (near["call_wall"], near["put_wall"])
    assert body["gex_flip"] is near["gex_flip"] is None  # the puts outweigh within ±20 %
    # The far chain has a flip: the service finds the worker's (the flip does not scale).
    far = chains["far"]
    body = get_ok(client, f"/analytics/NIFTY/gex?expiry={EXPIRY_2}", GexSchema)
    assert far["gex_flip"] == pytest.approx(23_643.28, abs=0.01)
    assert body["gex_flip"] == pytest.approx(far["gex_flip"], rel=1e-9)
    assert body["net_gex"] == pytest.approx(LOT * far["net_gex"], rel=1e-9)


def test_every_live_expiry_adds_up_at_one_spot(
    client: FlaskClient, chains: dict[str, dict[str, Any]]
) -> None:
    body = get_ok(client, "/analytics/NIFTY/gex", GexSchema)
    assert body["expiries"] == [EXPIRY, EXPIRY_2]  # the expired chain is left out
    assert body["timestamp"] == wire(at(10))  # the newest chain's
    expected = _by_strike(chains["near"], chains["far"])
    _check_strikes(body, expected)
    calls = {k: c for k, (c, _) in expected.items()}
    puts = {k: p for k, (_, p) in expected.items()}
    assert body["call_wall"] == max(calls, key=lambda k: calls[k])
    assert body["put_wall"] == min(puts, key=lambda k: puts[k])
    total = sum(c + p for c, p in expected.values())
    assert body["net_gex"] == pytest.approx(LOT * total, rel=1e-9)
    flip = body["gex_flip"]
    assert flip is None or abs(flip / body["spot"] - 1) <= 0.2


def test_errors_name_the_field(client: FlaskClient, chains: dict[str, dict[str, Any]]) -> None:
    assert list(get_error(client, "/analytics/NIFTY/gex?expiry=26-11-2026", 422)["fields"]) == [
        "expiry"
    ]
    assert list(get_error(client, "/analytics/NIFTY/gex?limit=3", 422)["fields"]) == ["limit"]
    assert get_error(client, "/analytics/NIFTY/gex?expiry=2027-01-28", 404)["fields"] == {
        "expiry": ["no chain stored"]
    }
    assert "NIFTYX" in get_error(client, "/analytics/NIFTYX/gex", 404)["message"]
