"""The Kite simulator over real sockets on 127.0.0.1 (aiohttp clients): the 403 handshake,
binary frames in the documented layout, heartbeats, limits, REST, and every fault.

Reads are bounded by timeouts; no test asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests

from feed_generator.venues.kite.instruments import parse_instruments, select
from feed_generator.venues.kite.packets import (
    FullPacket,
    IndexPacket,
    LtpPacket,
    Mode,
    Packet,
    QuotePacket,
    TextMessage,
    decode_frame,
    decode_text,
    mode_message,
    subscribe_message,
    unsubscribe_message,
)
from feed_generator.venues.kite.sim import (
    HOSTILE_FRAMES,
    SIM_ACCESS_TOKEN,
    SIM_API_KEY,
    KiteSim,
)
from feed_generator.venues.rejects import Rejected
from tests.support.processes import PYTHON, ProcessSet, free_port

READ_TIMEOUT = 3.0
NIFTY_50, NIFTY_BANK = 256265, 260105
HEADERS = {"X-Kite-Version": "3", "Authorization": f"token {SIM_API_KEY}:{SIM_ACCESS_TOKEN}"}


@pytest.fixture
def sim() -> Iterator[KiteSim]:
    server = KiteSim(interval=0.1, heartbeat=0.2, quote_burst=2.0, quote_rate=1.0)
    server.start_in_thread()
    yield server
    server.stop_thread()


def run(sim: KiteSim, test: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(test(session), 20.0)

    asyncio.run(main())


@asynccontextmanager
async def ticker(
    session: aiohttp.ClientSession, sim: KiteSim, token: str = SIM_ACCESS_TOKEN
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    url = f"{sim.ws_url}?api_key={SIM_API_KEY}&access_token={token}"
    async with session.ws_connect(url, autoping=True) as ws:
        yield ws


async def receive(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    return await ws.receive(timeout=READ_TIMEOUT)


async def packets(ws: aiohttp.ClientWebSocketResponse, want: int) -> list[Packet]:
    """Decoded packets of the next binary frames until ``want`` were read (none rejected)."""
    found: list[Packet] = []
    for _ in range(100):
        msg = await receive(ws)
        if msg.type is aiohttp.WSMsgType.BINARY:
            decoded, rejected = decode_frame(msg.data)
            assert rejected == []
            found += decoded
            if len(found) >= want:
                return found
    raise AssertionError("too few packets")


async def drain(ws: aiohttp.ClientWebSocketResponse, quiet: float) -> None:
    """Read until ``quiet`` seconds pass without a frame (then TimeoutError), 100 at most."""
    for _ in range(100):
        await ws.receive(timeout=quiet)


def option_tokens(sim: KiteSim, count: int) -> list[int]:
    rows = select(sim.market.instruments(), ["NIFTY"], 1, 1, {"NIFTY": 24_000.0})
    return [r.instrument_token for r in rows if r.segment == "NFO-OPT"][:count]


def test_bad_credentials_are_refused_with_403_at_the_handshake(sim: KiteSim) -> None:
    async def test(session: aiohttp.ClientSession) -> None:
        for query in (f"api_key=nobody&access_token={SIM_ACCESS_TOKEN}",
                      f"api_key={SIM_API_KEY}&access_token=wrong", ""):  # fmt: skip
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{sim.ws_url}?{query}")
            assert refused.value.status == 403
        async with session.get(sim.ws_url, params={"api_key": "x"}) as resp:
            assert resp.status == 403
            assert (await resp.json())["error_type"] == "TokenException"

    run(sim, test)
    assert sim.counts["refused_403"] == 4


def test_full_mode_gives_sane_full_and_index_packets(sim: KiteSim) -> None:
    tokens = option_tokens(sim, 6)

    async def test(session: aiohttp.ClientSession) -> None:
        async with ticker(session, sim) as ws:
            await ws.send_str(subscribe_message([NIFTY_50, NIFTY_BANK, *tokens]))
            quotes = await packets(ws, 8)
            assert {type(p) for p in quotes[:8]} == {QuotePacket, IndexPacket}
            await ws.send_str(mode_message(Mode.FULL, [NIFTY_50, NIFTY_BANK, *tokens]))
            got: dict[int, Packet] = {}
            for packet in await packets(ws, 16):
                got[packet.token] = packet
        nifty, bank = got[NIFTY_50], got[NIFTY_BANK]
        assert isinstance(nifty, IndexPacket)
        assert isinstance(bank, IndexPacket)
        assert 20_000 < nifty.last_price < 28_000
        assert 44_000 < bank.last_price < 60_000
        assert nifty.exchange_ts is not None
        assert nifty.low <= nifty.last_price <= nifty.high
        for token in tokens:
            full = got[token]
            assert isinstance(full, FullPacket)
            bid, ask = full.bids[0].price, full.asks[0].price
            assert 0 <= bid < ask
            assert round(ask * 100) % 5 == 0
            assert round(full.last_price * 100) % 5 == 0
            assert full.oi > 0
            assert full.oi_day_low <= full.oi <= full.oi_day_high
            assert all(level.quantity % 75 == 0 for level in full.bids + full.asks)
            assert [a.price for a in full.asks] == sorted(a.price for a in full.asks)

    run(sim, test)


def test_ltp_mode_unsubscribe_and_heartbeats(sim: KiteSim) -> None:
    token = option_tokens(sim, 1)[0]

    async def test(session: aiohttp.ClientSession) -> None:
        async with ticker(session, sim) as ws:
            msg = await receive(ws)  # nothing subscribed: a heartbeat within the second
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.BINARY, b"\x00")
            await ws.send_str(subscribe_message([token, NIFTY_50]))
            await ws.send_str(mode_message(Mode.LTP, [token, NIFTY_50]))
            latest = {p.token: p for p in await packets(ws, 6)}
            assert isinstance(latest[token], LtpPacket)
            assert isinstance(latest[NIFTY_50], LtpPacket)
            await ws.send_str(unsubscribe_message([token, NIFTY_50]))
            beats = 0
            for _ in range(20):
                msg = await receive(ws)
                if msg.data == b"\x00":
                    beats += 1
                    if beats == 2:
                        break
            assert beats == 2

    run(sim, test)


def test_limits_instruments_per_connection_and_connections_per_key(sim: KiteSim) -> None:
    async def text(ws: aiohttp.ClientWebSocketResponse) -> TextMessage | Rejected:
        for _ in range(50):
            msg = await receive(ws)
            if msg.type is aiohttp.WSMsgType.TEXT:
                return decode_text(msg.data)
        raise AssertionError("no text frame")

    async def test(session: aiohttp.ClientSession) -> None:
        async with ticker(session, sim) as a, ticker(session, sim), ticker(session, sim):
            await a.send_str(subscribe_message(list(range(1, 3002))))
            assert await text(a) == TextMessage("error", "Maximum 3000 instruments per connection")
            await a.send_str("nonsense")
            refused = await text(a)
            assert isinstance(refused, TextMessage)
            assert refused.data.startswith("Invalid message")
            async with ticker(session, sim) as fourth:
                assert await text(fourth) == TextMessage(
                    "error", "Maximum 3 connections per api_key"
                )
                assert (await receive(fourth)).type is aiohttp.WSMsgType.CLOSE
                assert fourth.close_code == 1008

    run(sim, test)


def test_instruments_dump_gzipped_and_plain(sim: KiteSim) -> None:
    async def test(session: aiohttp.ClientSession) -> None:
        async with session.get(f"{sim.api_url}/instruments", headers=HEADERS) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Encoding"] == "gzip"
            rows, rejected = parse_instruments(await resp.read())
        plain_headers = {**HEADERS, "Accept-Encoding": "identity"}
        async with session.get(f"{sim.api_url}/instruments", headers=plain_headers) as resp:
            assert "Content-Encoding" not in resp.headers
            assert parse_instruments(await resp.read()) == (rows, [])
        assert rejected == []
        chosen = select(rows, ["NIFTY", "BANKNIFTY"], 2, 3, {"NIFTY": 24_000.0})
        assert [r.tradingsymbol for r in chosen[:2]] == ["NIFTY 50", "NIFTY BANK"]
        nifty = [r for r in chosen if r.name == "NIFTY"]
        assert len(nifty) == 2 * 7 * 2
        assert {r.strike % 50 for r in nifty} == {0.0}
        assert {r.lot_size for r in nifty} == {75}

    run(sim, test)


def test_quote_shape_cap_rate_and_headers(sim: KiteSim) -> None:
    async def get(session: aiohttp.ClientSession, params: Any, headers: Any = HEADERS) -> Any:
        async with session.get(f"{sim.api_url}/quote", params=params, headers=headers) as resp:
            return resp.status, await resp.json()

    async def test(session: aiohttp.ClientSession) -> None:
        rows = sim.market.instruments()
        option = next(r for r in rows if r.segment == "NFO-OPT")
        keys = [("i", "NSE:NIFTY 50"), ("i", f"NFO:{option.tradingsymbol}"), ("i", "NFO:NOPE")]
        status, body = await get(session, keys)
        assert status == 200
        assert set(body["data"]) == {"NSE:NIFTY 50", f"NFO:{option.tradingsymbol}"}
        entry = body["data"][f"NFO:{option.tradingsymbol}"]
        assert entry["instrument_token"] == option.instrument_token
        assert len(entry["depth"]["buy"]) == len(entry["depth"]["sell"]) == 5
        assert entry["depth"]["buy"][0]["price"] < entry["depth"]["sell"][0]["price"]
        assert set(entry["ohlc"]) == {"open", "high", "low", "close"}
        status, body = await get(session, [("i", "NFO:X")] * 501)
        assert (status, body["error_type"]) == (400, "InputException")
        status, body = await get(session, keys)  # the bucket of two is empty now
        assert (status, body["error_type"]) == (429, "NetworkException")
        status, body = await get(session, keys, {"Authorization": HEADERS["Authorization"]})
        assert (status, body["error_type"]) == (400, "InputException")
        status, body = await get(session, keys, {"X-Kite-Version": "3"})
        assert (status, body["error_type"]) == (403, "TokenException")

    run(sim, test)


def test_expired_token_until_a_new_one_is_set(sim: KiteSim) -> None:
    async def test(session: aiohttp.ClientSession) -> None:
        async with ticker(session, sim) as ws:
            await receive(ws)
            async with session.post(f"{sim.api_url}/sim/control",
                                    json={"action": "expire_token"}) as resp:  # fmt: skip
                assert resp.status == 200
            for _ in range(20):
                if (await receive(ws)).type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            assert ws.closed
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                f"{sim.ws_url}?api_key={SIM_API_KEY}&access_token={SIM_ACCESS_TOKEN}"
            )
        assert refused.value.status == 403
        async with session.get(f"{sim.api_url}/instruments", headers=HEADERS) as resp:
            assert resp.status == 403
        fresh = {"action": "set_token", "access_token": "fresh"}
        async with session.post(f"{sim.api_url}/sim/control", json=fresh) as resp:
            assert resp.status == 200
        async with ticker(session, sim, "fresh") as ws:
            assert (await receive(ws)).data == b"\x00"

    run(sim, test)


def test_drop_silent_refuse_and_rest_faults(sim: KiteSim) -> None:
    async def test(session: aiohttp.ClientSession) -> None:
        async with ticker(session, sim) as ws:
            await ws.send_str(subscribe_message([NIFTY_50]))
            await packets(ws, 1)
            sim.set_silent()
            with pytest.raises(TimeoutError):  # what was in flight, then not even heartbeats
                await drain(ws, 0.6)
            sim.set_silent(False)
            await packets(ws, 1)
            sim.drop_connections()
            msg = await receive(ws)
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        sim.faults.refuse_ws = True
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                f"{sim.ws_url}?api_key={SIM_API_KEY}&access_token={SIM_ACCESS_TOKEN}"
            )
        assert refused.value.status == 503
        sim.faults.refuse_ws = False
        sim.rest_fault(1, status=502)
        async with session.get(f"{sim.api_url}/instruments", headers=HEADERS) as resp:
            assert resp.status == 502
        async with session.get(f"{sim.api_url}/instruments", headers=HEADERS) as resp:
            assert resp.status == 200

    run(sim, test)


def test_hostile_frames_each_rejected_and_good_packets_kept(sim: KiteSim) -> None:
    async def test(session: aiohttp.ClientSession) -> None:
        async with ticker(session, sim) as ws:
            await receive(ws)
            async with session.post(
                f"{sim.api_url}/sim/control", json={"action": "hostile"}
            ) as resp:
                assert resp.status == 200
            refused = 0
            for _ in range(len(HOSTILE_FRAMES) + 20):
                msg = await receive(ws)
                if msg.type is aiohttp.WSMsgType.TEXT:
                    assert isinstance(decode_text(msg.data), Rejected)
                    refused += 1
                elif msg.data != b"\x00":
                    _, rejected = decode_frame(msg.data)
                    assert rejected, msg.data.hex()
                    refused += 1
                if refused == len(HOSTILE_FRAMES):
                    break
            assert refused == len(HOSTILE_FRAMES)

    run(sim, test)


def test_runs_as_a_process_with_a_control_api(tmp_path: Path) -> None:
    port = free_port()
    procs = ProcessSet(tmp_path, os.environ)
    argv = [PYTHON, "-m", "feed_generator.venues.kite.sim", "--port", str(port), "--expiries", "1",
            "--strikes-per-side", "2", "--interval", "0.5"]  # fmt: skip
    try:
        procs.start("sim", argv, ready="kite simulator ready", timeout=60.0)
        base = f"http://127.0.0.1:{port}"
        dump = requests.get(f"{base}/instruments", headers=HEADERS, timeout=READ_TIMEOUT)
        rows, rejected = parse_instruments(dump.content)
        assert (len(rows), rejected) == (2 + 2 * 5 * 2, [])
        stats = requests.post(f"{base}/sim/control", json={"action": "stats"}, timeout=5).json()
        assert stats["ok"] is True
        unknown = requests.post(f"{base}/sim/control", json={"action": "explode"}, timeout=5)
        assert unknown.status_code == 400
        procs.kill("sim", signal.SIGTERM)  # what make up sends: a clean stop
        assert procs.wait("sim", timeout=30.0) == 0
    finally:
        procs.close()
