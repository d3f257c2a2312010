"""paper_service as deployed: gunicorn behind the real gateway (JWT, validation, the service
credential), enriched chains in a real Redis cached as the workers cache them, the real
SQLite strategy repository. An iron condor from the template is evaluated with exactly the
numbers the strategy math gives for the same inputs; prices left out are the live mids;
faults are 400/404/422 naming the field; saved strategies are each user's own, within the
limit. One stack for the module."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from common.embedded_redis import EmbeddedRedis
from common.messages.enums import OptionType
from common.products import serving_registry
from common.redis_client import make_redis, redis_db_url
from common.settings import load_settings
from common.timestamps import format_ts, parse_ts
from optionsmath import enrich_chain
from optionsmath.strategy import Leg, Side, evaluate_strategy, smile_of
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.chains import build_chain
from tests.support.latest import put_chain

pytestmark = pytest.mark.redis

PAPER_DB = 6
"""A database of the session's Redis for this module alone."""
PER_USER = 3
START = dt.datetime.now(dt.UTC)
NEAR = (START + dt.timedelta(days=6)).date().isoformat()
FAR = (START + dt.timedelta(days=13)).date().isoformat()


def _chain(expiry: str, age_s: float = 0.0) -> dict[str, Any]:
    """The 21-strike NIFTY chain of ``tests.support.chains`` on ``expiry``, enriched, its
    origin ``age_s`` seconds ago."""
    origin = format_ts(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s))
    raw = build_chain(expiry=expiry, timestamp=origin)
    return enrich_chain(raw, processed_at=origin)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Stack]:
    started = start_stack(
        tmp_path_factory.mktemp("paper-stack"),
        redis_db_url(redis_server.url, PAPER_DB),
        {"STRATEGIES_PER_USER": str(PER_USER), "RATE_LIMIT_USER": "1000/second"},
        services=("auth_service", "paper_service"),
    )
    try:
        yield started
    finally:
        started.procs.close()


@pytest.fixture(scope="module")
def chains(stack: Stack) -> dict[str, dict[str, Any]]:
    """The near and far NIFTY chains, cached as the workers cache them."""
    client = make_redis(stack.redis_url)
    cached = {}
    try:
        for expiry in (NEAR, FAR):
            chain = _chain(expiry)
            put_chain(client, "NIFTY", expiry, orjson.dumps(chain))
            cached[expiry] = chain
    finally:
        client.close()
    return cached


class User:
    """A registered, signed-in user calling the gateway."""

    def __init__(self, stack: Stack, name: str) -> None:
        body = {"username": name, "password": "correct-horse-1"}
        status, account = stack.json("POST", "/api/auth/register", body=body)
        assert status == 201, account
        self.id: str = account["id"]
        self.token = stack.login(name)["access_token"]
        self.stack = stack

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.stack.json(method, "/api" + path, body=body, token=self.token)

    def clear(self) -> None:
        for strategy in self.call("GET", "/strategies")[1]["strategies"]:
            assert self.call("DELETE", f"/strategies/{strategy['id']}")[0] == 204


@pytest.fixture(scope="module")
def alice(stack: Stack) -> User:
    return User(stack, "alice")


@pytest.fixture(scope="module")
def bob(stack: Stack) -> User:
    return User(stack, "bob")


@pytest.fixture(autouse=True)
def _no_strategies_left(alice: User, bob: User) -> Iterator[None]:
    yield
    alice.clear()
    bob.clear()


def _mid(chain: dict[str, Any], strike: float, kind: str) -> float:
    row = next(r for r in chain["calls" if kind == "CALL" else "puts"] if r["strike"] == strike)
    return float((row["bid"] + row["ask"]) / 2)


def test_an_iron_condor_is_valued_exactly_as_the_math_values_it(
    alice: User, chains: dict[str, dict[str, Any]]
) -> None:
    status, template = alice.call("GET", "/strategies/templates/NIFTY?name=iron_condor")
    assert status == 200, template
    legs = template["legs"]
    assert [(x["strike"], x["option_type"], x["side"]) for x in legs] == [
        (23_950.0, "PUT", "BUY"), (24_000.0, "PUT", "SELL"), (24_100.0, "CALL", "SELL"),
        (24_150.0, "CALL", "BUY"),
    ]  # fmt: skip
    assert {(x["expiry"], x["quantity"], x["price"]) for x in legs} == {(NEAR, 75.0, None)}
    moment = format_ts(dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    status, answer = alice.call("POST", "/strategies/evaluate", {"legs": legs, "dates": [moment]})
    assert status == 200, answer
    near = chains[NEAR]
    mids = [_mid(near, x["strike"], x["option_type"]) for x in legs]
    assert [x["price"] for x in answer["legs"]] == mids  # the live mids

    conventions = serving_registry(load_settings()).get("NIFTY")
    smiles = {s.expiry: s for s in (smile_of(c, conventions) for c in chains.values())}
    math_legs = [
        Leg(
            dt.date.fromisoformat(NEAR),
            x["strike"],
            OptionType(x["option_type"]),
            Side(x["side"]),
            75.0,
            price,
        )
        for x, price in zip(legs, mids, strict=True)
    ]
    valued_at = parse_ts(answer["valued_at"])
    report = evaluate_strategy(math_legs, smiles, answer["spot"], valued_at,
                               dates=[parse_ts(moment)])  # fmt: skip
    assert answer["spot"] == 24_010.0
    assert answer["expiry"] == NEAR
    assert answer["net_premium"] == report.net_premium
    assert answer["breakevens"] == list(report.breakevens)
    assert (answer["max_profit"], answer["max_loss"]) == (report.max_profit, report.max_loss)
    assert answer["limits_exact"] is True
    assert answer["greeks"] == {
        "delta": report.greeks.delta,
        "gamma": report.greeks.gamma,
        "theta": report.greeks.theta,
        "vega": report.greeks.vega,
    }
    assert (answer["pop"], answer["pop_lognormal"], answer["atm_iv"]) == (
        report.pop, report.pop_lognormal, report.atm_iv,
    )  # fmt: skip
    assert [x["iv"] for x in answer["legs"]] == list(report.leg_ivs)
    assert answer["payoff"]["spots"] == report.payoff.spots.tolist()
    assert answer["payoff"]["expiry"] == report.payoff.expiry.tolist()
    assert answer["payoff"]["today"] == report.payoff.today.tolist()
    assert answer["payoff"]["dates"] == [{"at": moment, "pnl": report.payoff.dates[0].pnl.tolist()}]
    assert len(answer["density"]["risk_neutral"]) == len(answer["payoff"]["spots"])
    # A credit: net premium received; the most lost is the wing less the credit, per unit.
    assert answer["net_premium"] < 0
    wing = 50.0 * 75
    assert answer["max_loss"] == pytest.approx(wing + answer["net_premium"], rel=1e-12)


def test_a_stale_chain_is_used_and_said_to_be(alice: User, stack: Stack) -> None:
    client = make_redis(stack.redis_url)
    old = (START + dt.timedelta(days=20)).date().isoformat()
    try:
        put_chain(client, "NIFTY", old, orjson.dumps(_chain(old, age_s=600.0)))
    finally:
        client.close()
    leg = {"product": "NIFTY", "expiry": old, "strike": 24_000, "option_type": "PUT",
           "side": "BUY", "quantity": 75}  # fmt: skip
    status, answer = alice.call("POST", "/strategies/evaluate", {"legs": [leg]})
    assert status == 200, answer
    assert answer["stale"] is True


@pytest.mark.parametrize(
    ("change", "extra", "field"),
    [
        ({"strike": -5}, {}, "legs[1].strike"),  # the gateway's schema, named in brackets
        ({"option_type": None}, {}, "legs[1].expiry"),  # the schema: the underlying has none
        ({"product": "BANKNIFTY"}, {}, "legs[1].product"),  # two products
        ({"strike": 24_025}, {}, "legs[1].strike"),  # the math: not listed
        ({}, {"dates": ["2099-01-01T00:00:00Z"]}, "dates[0]"),  # past the first expiry
        ({}, {"points": 5}, "points"),
    ],
)
def test_faults_are_422_naming_the_field(
    alice: User, chains: dict[str, Any], change: dict[str, Any], extra: dict[str, Any],
    field: str,
) -> None:  # fmt: skip
    first = {"product": "NIFTY", "expiry": NEAR, "strike": 24_000, "option_type": "CALL",
             "side": "BUY", "quantity": 75}  # fmt: skip
    status, err = alice.call("POST", "/strategies/evaluate",
                             {"legs": [first, {**first, **change}], **extra})  # fmt: skip
    assert status == 422, err
    assert err["error"]["code"] == "validation_error"
    assert list(err["error"]["fields"]) == [field]
    unserved = {**first, "product": "SENSEX"}
    status, err = alice.call("POST", "/strategies/evaluate", {"legs": [unserved, unserved]})
    assert (status, list(err["error"]["fields"])) == (422, ["legs[0].product"])


def test_no_chain_is_404_and_a_body_not_an_object_is_400(
    alice: User, stack: Stack, chains: dict[str, Any]
) -> None:
    leg = {"product": "NIFTY", "expiry": "2099-12-31", "strike": 24_000, "option_type": "CALL",
           "side": "BUY", "quantity": 75}  # fmt: skip
    status, err = alice.call("POST", "/strategies/evaluate", {"legs": [leg]})
    assert (status, err["error"]["fields"]) == (404, {
        "legs[0].expiry": ["no live chain of NIFTY 2099-12-31"]
    })  # fmt: skip
    status, err = alice.call("POST", "/strategies/evaluate", [leg])
    assert (status, err["error"]["code"]) == (400, "bad_request")
    status, err = alice.call("GET", "/strategies/templates/BTC?name=straddle")
    assert (status, list(err["error"]["fields"])) == (404, ["product"])
    status, err = alice.call("GET", "/strategies/templates/NIFTY?name=iron_condor&width=6")
    assert (status, list(err["error"]["fields"])) == (422, ["width"])
    assert stack.json("POST", "/api/strategies/evaluate", body={"legs": [leg]})[0] == 401


def test_saved_strategies_are_each_users_own(alice: User, bob: User) -> None:
    leg = {"product": "NIFTY", "expiry": NEAR, "strike": 24_000, "option_type": "CALL",
           "side": "SELL", "quantity": 75, "price": 98.5}  # fmt: skip
    status, saved = alice.call("POST", "/strategies", {"name": "short call", "legs": [leg]})
    assert status == 201, saved
    assert saved == {
        "id": saved["id"], "owner": alice.id, "name": "short call",
        "legs": [{**leg, "strike": 24_000.0, "quantity": 75.0}], "note": None,
        "created_at": saved["created_at"], "updated_at": saved["created_at"],
    }  # fmt: skip
    path = f"/strategies/{saved['id']}"
    assert alice.call("GET", path) == (200, saved)
    assert alice.call("GET", "/strategies") == (200, {"strategies": [saved]})
    for method, body in (("GET", None), ("PUT", {"name": "x", "legs": [leg]}), ("DELETE", None)):
        status, err = bob.call(method, path, body)
        assert (status, err["error"]["code"]) == (404, "not_found"), method
    assert bob.call("GET", "/strategies") == (200, {"strategies": []})
    status, replaced = alice.call("PUT", path, {"name": "covered", "legs": [leg, {
        "product": "NIFTY", "side": "BUY", "quantity": 75}], "note": "hedged"})  # fmt: skip
    assert status == 200, replaced
    assert (replaced["name"], replaced["note"], len(replaced["legs"])) == ("covered", "hedged", 2)
    assert replaced["updated_at"] > saved["updated_at"]
    assert alice.call("GET", path) == (200, replaced)
    status, err = alice.call("GET", "/strategies/st_nope")
    assert (status, list(err["error"]["fields"])) == (422, ["strategy_id"])
    status, _, body = alice.stack.request("DELETE", "/api" + path, token=alice.token)
    assert (status, body) == (204, b"")
    assert alice.call("GET", path)[0] == 404


def test_racing_saves_never_pass_the_limit(alice: User, bob: User) -> None:
    body = {"name": "straddle", "legs": [{"product": "NIFTY", "expiry": NEAR, "strike": 24_050,
            "option_type": "CALL", "side": "BUY", "quantity": 75}]}  # fmt: skip
    statuses: list[int] = []
    start = threading.Barrier(6)

    def save() -> None:
        start.wait(30)
        statuses.append(alice.call("POST", "/strategies", body)[0])

    threads = [threading.Thread(target=save) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] * PER_USER + [409] * (6 - PER_USER)
    status, err = alice.call("POST", "/strategies", body)
    assert (status, err["error"]["code"]) == (409, "strategy_limit")
    assert len(alice.call("GET", "/strategies")[1]["strategies"]) == PER_USER
    assert bob.call("POST", "/strategies", body)[0] == 201  # bob's quota is his own


def test_the_routes_are_documented(stack: Stack) -> None:
    status, doc = stack.json("GET", "/api/openapi.json")
    assert status == 200
    assert set(doc["paths"]["/api/strategies"]) == {"get", "post"}
    assert set(doc["paths"]["/api/strategies/evaluate"]) == {"post"}
    assert "get" in doc["paths"]["/api/strategies/templates/{product}"]
    one = doc["paths"]["/api/strategies/{strategy_id}"]
    assert {"get", "put", "delete"} <= set(one)
    (param,) = [p for p in one["get"]["parameters"] if p["in"] == "path"]
    assert (param["name"], param["schema"]["pattern"]) == ("strategy_id", "^st_[A-Za-z0-9_-]{22}$")
    assert "409" in doc["paths"]["/api/strategies"]["post"]["responses"]
