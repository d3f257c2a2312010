"""Chains and candles at controlled instants for the analytics route tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from marshmallow import Schema

from common.timestamps import format_ts
from optionsmath import enrich_chain
from tests.support.chains import EXPIRY, build_chain

T0 = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
"""04:00Z: with EXPIRY (10:00Z on the 26th) a chain here has T = 5.25 days, as priced."""
NOW = dt.datetime(2026, 11, 21, 5, 0, tzinfo=dt.UTC)
"""The app's clock in these tests."""
EXPIRY_2 = "2026-12-31"
EXPIRED = "2026-11-20"


def wire(moment: dt.datetime) -> str:
    return format_ts(moment)


def at(minutes: float = 0.0, seconds: float = 0.0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes, seconds=seconds)


def enriched(
    moment: dt.datetime, seq: int, *, put_oi_factor: int = 1, expiry: str = EXPIRY,
    previous: dict[str, Any] | None = None, **overrides: Any,
) -> dict[str, Any]:  # fmt: skip
    """A 21-strike NIFTY chain (spot 24010) enriched by the worker's code at ``moment``;
    put OI is ``put_oi_factor`` × call OI, so PCR(OI) is exactly that factor."""
    raw = build_chain(seq=seq, timestamp=wire(moment), expiry=expiry, **overrides)
    for row in raw["puts"]:
        row["oi"] *= put_oi_factor
    return enrich_chain(raw, previous, processed_at=wire(moment))


def handmade(
    moment: dt.datetime, seq: int, atm: float, *, expiry: str = EXPIRY, spot: float = 100.0
) -> dict[str, Any]:
    """A small chain whose ATM call and put IV are both ``atm``."""
    row = {"strike": 100.0, "iv": atm, "oi": 10}
    return {
        "product": "NIFTY", "expiry": expiry, "seq": seq, "timestamp": wire(moment),
        "spot_price": spot, "atm_strike": 100.0, "atm_iv": atm,
        "calls": [dict(row)], "puts": [dict(row)],
    }  # fmt: skip


def candle(
    start: dt.datetime, close: float, interval: str = "15min", **values: float
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "product": "NIFTY", "interval": interval, "start": wire(start),
        "open": close, "high": close, "low": close, "close": close, "volume": 10,
    }  # fmt: skip
    doc.update(values)
    return doc


def get_ok(client: FlaskClient, url: str, schema: type[Schema]) -> Any:
    """GET ``url``: 200 and a body that loads with the route's response schema unchanged."""
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    schema().load(body)  # unknown keys, missing keys or wrong types raise
    return body


def get_error(client: FlaskClient, url: str, status: int) -> dict[str, Any]:
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)
    error: dict[str, Any] = resp.get_json()["error"]
    return error
