"""The Deribit simulator over real sockets on 127.0.0.1: protocol, heartbeats, limits, faults.

Frames are read with bounded timeouts; no test asserts how long anything took.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from common.messages import decode_message
from common.names import Channel
from common.timestamps import parse_ts
from feed_generator.venues.deribit.normaliser import Normaliser, from_summary, from_ticker
from feed_generator.venues.deribit.parser import (
    IndexUpdate,
    Rejected,
    Reply,
    TickerUpdate,
    parse_book_summaries,
    parse_frame,
    parse_instruments,
)
from feed_generator.venues.deribit.sim import HOSTILE_FRAMES, DeribitSim
from feed_generator.venues.deribit.sim.server import Stamp
from optionsmath import implied_vol
from tests.support.deribit_sim import SIM_CLOCKS, sim_clock
from tests.support.processes import PYTHON, ProcessSet, free_port

READ_TIMEOUT = 5.0


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[DeribitSim]:
    """The simulator on the wall clock, or (``param``) 50 minutes before an expiry."""
    clock = sim_clock(getattr(request, "param", "now"))
    server = DeribitSim(interval=0.05, min_heartbeat=0.2, clock=clock).start_in_thread()
    yield server
    server.stop_thread()


def connect(sim: DeribitSim) -> websocket.WebSocket:
    return websocket.create_connection(sim.ws_url, timeout=READ_TIMEOUT)


def close(ws: websocket.WebSocket) -> None:
    """Close, and shut the socket even when the server closed first (close() then skips it)."""
    ws.close()
    ws.shutdown()  # type: ignore[no-untyped-call]


def call(ws: websocket.WebSocket, request_id: int, method: str, **params: Any) -> Reply:
    ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
    for _ in range(1000):  # notifications may come first
        parsed = parse_frame(ws.recv())
        if isinstance(parsed, Reply) and parsed.id == request_id:
            return parsed
    raise AssertionError(f"no reply to {method}")


def result(reply: Reply) -> Any:
    assert reply.error is None
    assert reply.result is not None
    return json.loads(bytes(reply.result))


def first_ticker(sim: DeribitSim) -> str:
    return sim.market.tickers("BTC")[7][0]


def test_subscribe_delivers_valid_notifications(sim: DeribitSim) -> None:
    name = first_ticker(sim)
    channels = ["deribit_price_index.btc_usd", f"ticker.{name}.100ms", "nonsense.channel"]
    with_ws = connect(sim)
    try:
        assert result(call(with_ws, 1, "public/subscribe", channels=channels)) == channels[:2]
        normaliser, seen = Normaliser(dt.datetime.now(dt.UTC)), set[str]()
        while seen != {"index", "ticker"}:
            parsed = parse_frame(with_ws.recv())
            if isinstance(parsed, IndexUpdate):
                message = normaliser.underlying(parsed.index, parsed.product)
                decode_message(Channel.MARKET_UNDERLYING, json.dumps(message))
                seen.add("index")
            elif isinstance(parsed, TickerUpdate):
                assert parsed.option.name == name
                quote = normaliser.quote(from_ticker(parsed.ticker, parsed.option))
                assert isinstance(quote, dict)
                decode_message(Channel.MARKET_OPTION_QUOTE, json.dumps(quote))
                seen.add("ticker")
            else:
                assert not isinstance(parsed, Rejected), parsed
        assert result(call(with_ws, 2, "public/unsubscribe", channels=channels[:1])) == channels[:1]
    finally:
        close(with_ws)


class SteppingClock:
    """Each reading 1 ms after the one before: a stamp tells which reading it was."""

    def __init__(self, start: float = 1_796_472_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += 0.001
            return self.now


@pytest.mark.parametrize("stamp", ["tick", "frame"])
def test_notifications_are_stamped_by_their_tick_or_as_written(stamp: Stamp) -> None:
    sim = DeribitSim(interval=0.05, stamp=stamp, clock=SteppingClock()).start_in_thread()
    ws = connect(sim)
    try:
        names = [name for name, _ in sim.market.tickers("BTC")[:3]]
        channels = [f"ticker.{name}.100ms" for name in names]
        assert result(call(ws, 1, "public/subscribe", channels=channels)) == channels
        stamps: list[int] = []
        first: int | None = None
        while len(stamps) < 6:  # two whole ticks of three notifications
            parsed = parse_frame(ws.recv())
            if not isinstance(parsed, TickerUpdate):
                continue
            if stamp == "tick" and first in (None, parsed.ticker.timestamp):
                # the subscription may have landed mid-tick: skip that first, partial tick
                first = parsed.ticker.timestamp
                continue
            stamps.append(parsed.ticker.timestamp)
        if stamp == "tick":
            assert stamps[0] == stamps[1] == stamps[2] < stamps[3] == stamps[4] == stamps[5]
        else:
            assert stamps == sorted(set(stamps))  # each later than the one before
        # A tick's stats are recorded once its last frame is written: the client can hold
        # that frame a moment before the simulator has noted the tick.
        deadline = time.monotonic() + 5.0
        while sim.tick_stats()["ticks"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = sim.tick_stats()
        assert stats["stamp"] == stamp
        assert stats["ticks"] >= 2
        assert 0 < stats["first_frame_ms_p50"] < stats["last_frame_ms_p50"]
    finally:
        close(ws)
        sim.stop_thread()


def test_unanswered_test_request_closes_the_connection(sim: DeribitSim) -> None:
    silent, polite = connect(sim), connect(sim)
    try:
        assert result(call(silent, 1, "public/set_heartbeat", interval=0.2)) == "ok"
        assert result(call(polite, 1, "public/set_heartbeat", interval=0.2)) == "ok"
        refused = call(polite, 2, "public/set_heartbeat", interval=0.05)
        assert refused.error is not None
        assert refused.error.code == 11029
        for _ in range(2):  # answer two test_requests: the connection stays
            while parse_frame(polite.recv()) != parse_frame(HEARTBEAT_TEST):
                pass
            assert "version" in result(call(polite, 10, "public/test"))
        assert parse_frame(silent.recv()) == parse_frame(HEARTBEAT_TEST)
        opcode, _ = silent.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert sim.counts["heartbeat_closes"] == 1
        assert polite.connected
    finally:
        close(silent)
        close(polite)


HEARTBEAT_TEST = b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'


def test_over_budget_request_is_refused_with_10028_and_closed() -> None:
    sim = DeribitSim(request_burst=3, request_rate=0.0).start_in_thread()
    ws = connect(sim)
    try:
        for i in range(3):
            assert result(call(ws, i, "public/subscribe", channels=[])) == []
        refused = call(ws, 9, "public/subscribe", channels=["deribit_price_index.btc_usd"])
        assert refused.error is not None
        assert (refused.error.code, refused.error.message) == (10028, "too_many_requests")
        opcode, _ = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
    finally:
        close(ws)
        sim.stop_thread()


def test_too_many_requests_fault_refuses_the_next_requests_with_10028_and_closes(
    sim: DeribitSim,
) -> None:
    first, second = connect(sim), connect(sim)
    try:
        assert result(call(first, 1, "public/subscribe", channels=[])) == []
        control = requests.post(
            f"http://{sim.host}:{sim.port}/sim/control",
            json={"action": "too_many_requests", "count": 2},
            timeout=READ_TIMEOUT,
        )
        assert control.json()["ok"] is True
        for ws in (first, second):  # the next two requests, whichever connection sends them
            refused = call(ws, 2, "public/test")
            assert refused.error is not None
            assert (refused.error.code, refused.error.message) == (10028, "too_many_requests")
            opcode, _ = ws.recv_data(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert sim.counts["refused_10028"] == 2
    finally:
        close(first)
        close(second)
    third = connect(sim)  # only those two: the budget is untouched, a new client is served
    try:
        assert "version" in result(call(third, 1, "public/test"))
        assert result(call(third, 2, "public/subscribe", channels=[])) == []
    finally:
        close(third)
    assert sim.counts["refused_10028"] == 2


def rest(sim: DeribitSim, method: str, **params: str) -> requests.Response:
    return requests.get(f"{sim.rest_url}/public/{method}", params=params, timeout=READ_TIMEOUT)


@pytest.mark.parametrize("sim", SIM_CLOCKS, indirect=True)
def test_rest_book_summary_gives_usd_prices_and_ivs_that_agree(sim: DeribitSim) -> None:
    instruments = parse_instruments(json.dumps(rest(sim, "get_instruments", currency="BTC",
                                                    kind="option", expired="false")
                                               .json()["result"]).encode())  # fmt: skip
    assert len(instruments[0]) == len(sim.market.books["BTC"].names)
    assert instruments[1] == []
    response = rest(sim, "get_book_summary_by_currency", currency="BTC", kind="option")
    reply = parse_frame(response.content)
    assert isinstance(reply, Reply)
    assert reply.result is not None
    rows, rejected = parse_book_summaries(reply.result)
    assert rejected == []
    normaliser = Normaliser(dt.datetime.now(dt.UTC))
    normaliser.set_instruments(instruments[0])
    checked = 0
    for row, option in rows:
        message = normaliser.quote(from_summary(row, option))
        assert isinstance(message, dict)
        quote = decode_message(Channel.MARKET_OPTION_QUOTE, json.dumps(message))
        assert quote.ask >= quote.bid >= 0  # type: ignore[attr-defined]
        T = (parse_ts(message["expiry_ts"]) - parse_ts(message["timestamp"])).total_seconds()
        T /= 365 * 86400
        iv = implied_vol(message["mark"], message["forward"], option.strike, T, 0.0, 0.0,
                         option.option_type.value)  # fmt: skip
        sign = 1.0 if option.option_type.value == "CALL" else -1.0
        time_value = message["mark"] - max(0.0, sign * (message["forward"] - option.strike))
        # A time value of cents carries no IV to 2 decimals of a percent; an hour before
        # expiry a deep in-the-money mark is its intrinsic value to 1e-11 and has none.
        if time_value > 1.0:
            assert float(iv) == pytest.approx(message["mark_iv"], abs=1e-4)
            checked += 1
    assert checked > len(rows) // 2


def test_rest_faults_then_recovery(sim: DeribitSim) -> None:
    sim.rest_fault(1, status=503)
    assert rest(sim, "get_index_price", index_name="btc_usd").status_code == 503
    sim.rest_fault(1, status=200, error_code=10040)
    reply = parse_frame(rest(sim, "get_index_price", index_name="btc_usd").content)
    assert isinstance(reply, Reply)
    assert reply.error is not None
    assert reply.error.code == 10040
    bad = rest(sim, "get_book_summary_by_currency", currency="DOGE")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == 11029
    sim.rest_fault(0, delay=1.5)  # slowness: a client with a shorter timeout gives up
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sim.rest_url}/public/get_index_price", timeout=0.2)
    sim.rest_fault(0)
    recovered = parse_frame(rest(sim, "get_index_price", index_name="btc_usd").content)
    assert isinstance(recovered, Reply)
    assert result(recovered)["index_price"] > 0


def drain(ws: websocket.WebSocket) -> None:
    """Read until the connection times out or closes (both raise)."""
    for _ in range(10_000):
        ws.recv()


def test_drop_silence_refusal_and_hostile_frames(sim: DeribitSim) -> None:
    ws = connect(sim)
    try:
        call(ws, 1, "public/subscribe", channels=["deribit_price_index.eth_usd"])
        sim.set_silent(True)
        ws.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            drain(ws)  # what was in flight; then nothing comes
        sim.set_silent(False)
        ws.settimeout(READ_TIMEOUT)
        assert isinstance(parse_frame(ws.recv()), IndexUpdate | Reply)
        sim.inject(*HOSTILE_FRAMES.values())
        rejected = 0
        while rejected < len(HOSTILE_FRAMES):
            parsed = parse_frame(ws.recv())
            if isinstance(parsed, Rejected):
                rejected += 1
            else:
                assert isinstance(parsed, IndexUpdate)
        sim.drop_connections()
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            drain(ws)
    finally:
        close(ws)
    again = connect(sim)  # after a drop, a new connection subscribes and streams again
    try:
        call(again, 1, "public/subscribe", channels=["deribit_price_index.eth_usd"])
        assert isinstance(parse_frame(again.recv()), IndexUpdate)
    finally:
        close(again)
    sim.faults.refuse_ws = True
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(sim)


def test_runs_as_a_process_with_a_control_api(tmp_path: Path) -> None:
    port = free_port()
    procs = ProcessSet(tmp_path, os.environ)
    argv = [PYTHON, "-m", "feed_generator.venues.deribit.sim", "--port", str(port)]
    try:
        procs.start("sim", argv, ready="deribit simulator ready", timeout=60.0)
        base = f"http://127.0.0.1:{port}"
        summary = requests.get(
            f"{base}/api/v2/public/get_book_summary_by_currency",
            params={"currency": "ETH", "kind": "option"},
            timeout=READ_TIMEOUT,
        )
        assert len(summary.json()["result"]) == 8 * 15 * 2
        stats = requests.post(f"{base}/sim/control", json={"action": "stats"}, timeout=5).json()
        assert (stats["ok"], stats["stamp"], stats["ticks"]) == (True, "tick", 0)  # no client
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws/api/v2", timeout=5)
        try:  # actions on the connections run on the server's own loop (SimHost.call_soon)
            hostile = {"action": "hostile", "frames": ["not_an_object"]}
            assert requests.post(f"{base}/sim/control", json=hostile, timeout=5).json()["ok"]
            assert ws.recv() == "[1, 2, 3]"  # bytes sent as a text frame, as Deribit's are
            assert requests.post(f"{base}/sim/control", json={"action": "drop"}, timeout=5).ok
            with pytest.raises(websocket.WebSocketConnectionClosedException):
                ws.recv()
        finally:
            close(ws)
        control = requests.post(f"{base}/sim/control", json={"action": "refuse_ws"}, timeout=5)
        assert control.json()["ok"] is True
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(f"ws://127.0.0.1:{port}/ws/api/v2", timeout=5)
        unknown = requests.post(f"{base}/sim/control", json={"action": "explode"}, timeout=5)
        assert unknown.status_code == 400
        garbled = requests.post(f"{base}/sim/control", data=b"{action", timeout=5)
        assert (garbled.status_code, garbled.json()) == (400, {"error": "expected a JSON object"})
        procs.kill("sim", signal.SIGTERM)  # what make up sends: a clean stop
        assert procs.wait("sim", timeout=30.0) == 0
    finally:
        procs.close()
