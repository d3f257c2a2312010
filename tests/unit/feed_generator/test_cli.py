"""The command line: configuration errors, help, offline recording."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import feed_generator.cli
from common.embedded_redis import free_port
from common.jsonlog import current_trace_id, trace
from common.timestamps import parse_ts
from feed_generator.capture import read_capture
from feed_generator.cli import main
from feed_generator.market import Market
from feed_generator.publisher import Encoded, RedisSink
from feed_generator.runner import Progress
from feed_generator.venues.deribit.connector import DeribitVenue
from feed_generator.venues.deribit.sim.server import DeribitSim
from feed_generator.venues.synthetic import SyntheticVenue
from tests.support.stalled import StalledServer

START = "2026-11-23T04:00:00Z"
DRY = ["--no-publish", "--duration", "1"]


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("optionsflow-feed: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--products", "NIFTY,FOO"], "unknown product 'FOO'"),
        (["--products", ","], "no products selected"),
        (["--tick-rate", "-1"], "--tick-rate: must be a finite number ≥ 0"),
        (["--quote-rate", "1e6"], "--quote-rate: must be at most 100000"),
        (["--quote-rate", "lots"], "--quote-rate: expected a number"),
        (["--chain-rate", "inf"], "--chain-rate: must be a finite number"),
        (["--load", "0"], "--load: must be positive"),
        (["--strikes", "0"], "--strikes: must be between 1 and 2000"),
        (["--seed", "-3"], "--seed: must be between 0"),
        (["--start", "yesterday"], "--start: expected ISO-8601"),
        (
            ["--start", "0001-01-01T00:00:00+05:00"],
            "--start: the year must be between 1971 and 2100",
        ),
        (["--start", "9999-12-20T00:00:00Z"], "--start: the year must be between 1971 and 2100"),
        (["--start", "9999-12-31T23:00:00-05:00"], "--start: the year must be between"),
        (["--start", "1970-06-01T00:00:00Z"], "--start: the year must be between"),
        (["--start", "2101-01-01T00:00:00Z", *DRY], "--start: the year must be between"),
        (["--speed", "fast"], "--speed: expected a number"),
        (["--duration", "-5"], "--duration: must be a finite number ≥ 0"),
        (["--duration", "0"], "--duration: must be positive"),
        (["--no-publish"], "--no-publish needs --duration"),
        (["--speed", "max", *DRY], "--speed and --restamp apply to --replay only"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--redis-url", "http://localhost"], "expected redis://"),
        (
            ["--load", "100", "--tick-rate", "0", "--quote-rate", "0", "--chain-rate", "0", *DRY],
            "--load needs at least one non-zero rate",
        ),
    ],
)
def test_bad_configuration_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(args) == 2
    assert expected in _error_line(capsys)


def test_unreachable_redis_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["--redis-url", url, "--duration", "1"]) == 2
    assert f"cannot reach Redis at {url}" in _error_line(capsys)


@pytest.mark.timeout(30)
def test_a_stalled_redis_is_refused_after_one_ping(
    capsys: pytest.CaptureFixture[str], stalled_redis: StalledServer
) -> None:
    # One ping with the publishing client's timeouts (about a second), never retried.
    assert main(["--redis-url", stalled_redis.url, "--duration", "1"]) == 2
    assert "cannot reach Redis" in _error_line(capsys)
    assert stalled_redis.connections == 1


def test_a_redis_failure_leaves_an_existing_capture_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capture = tmp_path / "keep.jsonl.gz"
    assert _record(capture) == 0
    before = capture.read_bytes()
    capsys.readouterr()
    args = ["--record", str(capture), "--redis-url", "redis://127.0.0.1:1", "--duration", "1"]
    assert main(args) == 2
    assert "cannot reach Redis" in _error_line(capsys)
    assert capture.read_bytes() == before


def test_bad_settings_are_a_configuration_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISK_FREE_RATE", "six percent")
    assert main(["--no-publish", "--duration", "1"]) == 2
    assert "RISK_FREE_RATE" in _error_line(capsys)


def test_unreadable_replay_files_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--replay", str(tmp_path / "missing.jsonl.gz")]) == 2
    assert "cannot read capture" in _error_line(capsys)
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(gzip.compress(b"hello\n"))
    assert main(["--replay", str(garbage)]) == 2
    assert "garbage.jsonl.gz:1: not JSON" in _error_line(capsys)


def test_conflicting_options_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capture = tmp_path / "c.jsonl.gz"
    assert main(["--no-publish", "--duration", "1", "--record", str(capture)]) == 0
    capsys.readouterr()
    assert main(["--replay", str(capture), "--record", str(tmp_path / "x.gz")]) == 2
    assert "--record cannot be combined with --replay" in _error_line(capsys)
    assert main(["--replay", str(capture), "--no-publish", "--duration", "1"]) == 2
    assert "would do nothing" in _error_line(capsys)
    assert main(["--no-publish", "--duration", "1", "--record", "/no/such/dir/c.gz"]) == 2
    assert "does not exist" in _error_line(capsys)


@pytest.mark.parametrize(
    "option",
    [
        ["--products", "NIFTY"],
        ["--seed", "1"],
        ["--strikes", "21"],
        ["--start", START],
        ["--tick-rate", "5"],
        ["--quote-rate", "0"],
        ["--chain-rate", "1"],
        ["--load", "100"],
    ],
)
def test_model_options_are_refused_with_a_replay(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: list[str]
) -> None:
    capture = tmp_path / "c.jsonl.gz"
    assert _record(capture) == 0
    capsys.readouterr()
    assert main(["--replay", str(capture), *option, "--redis-url", "redis://127.0.0.1:1"]) == 2
    line = _error_line(capsys)
    assert f"{option[0]}: not applicable to --replay" in line


def test_the_market_is_built_once_and_starts_after_the_set_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built: list[Market] = []

    class CountingMarket(Market):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            built.append(self)

    monkeypatch.setattr(feed_generator.cli, "Market", CountingMarket)
    capture = tmp_path / "now.jsonl.gz"
    before = dt.datetime.now(dt.UTC)
    assert main(["--no-publish", "--duration", "1", "--record", str(capture)]) == 0
    after = dt.datetime.now(dt.UTC)
    assert len(built) == 1
    assert before <= built[0].start <= after  # the run's own start, not a fixed instant
    first = next(read_capture(capture)).message
    assert before - dt.timedelta(milliseconds=1) <= parse_ts(first["timestamp"])  # ms stamps
    assert first["seq"] == built[0].seq_base


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    options = "seed products strikes tick-rate quote-rate chain-rate load duration record replay"
    for option in [*options.split(), "speed", "restamp", "redis-url", "start", "no-publish"]:
        assert f"--{option}" in out
    # what the command runs now: the venues, chosen by FEED_VENUES or --venue
    for text in ["--venue NAME", "FEED_VENUES", "deribit-sim", "FEED_METRICS_PORT", "/metrics"]:
        assert text in out
    assert "Synthetic options market feed" not in out


def test_metrics_read_the_connectors_budget_and_breaker_and_every_venues_health(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEED_VENUES", "synthetic,deribit")
    plan_ = feed_generator.cli.plan(["--products", "NIFTY", "--start", START])
    synthetic, deribit = feed_generator.cli.build_venues(plan_, [], Progress(interval=0))
    assert isinstance(deribit, DeribitVenue)
    sources = [feed_generator.cli.metric_sources(v) for v in (synthetic, deribit)]
    assert [(s.health, s.budget, s.breaker) for s in sources] == [
        (synthetic.health, None, None),
        (deribit.health, deribit.budget, deribit.breaker),
    ]


def _record(path: Path, *extra: str) -> int:
    args = ["--no-publish", "--duration", "5", "--record", str(path), "--seed", "7"]
    return main([*args, "--start", START, *extra])


def test_offline_recording_is_reproducible(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.gz", tmp_path / "b.gz", tmp_path / "c.gz"
    assert _record(a) == 0
    assert _record(b) == 0
    assert _record(c, "--seed", "8") == 0
    records_a = list(read_capture(a))
    assert len(records_a) == 5 * 146  # 8 × (5 ticks + 10 quotes) + 26 expiries × 1 chain
    assert records_a == list(read_capture(b))
    assert records_a != list(read_capture(c))
    assert records_a[0].message["timestamp"].startswith("2026-11-23T04:00:00.")


def test_offline_recording_honours_products_strikes_and_load(tmp_path: Path) -> None:
    path = tmp_path / "load.gz"
    assert _record(path, "--products", "nifty,INFY", "--strikes", "101", "--load", "1000") == 0
    records = list(read_capture(path))
    assert {r.message["product"] for r in records} == {"NIFTY", "INFY"}
    assert len(records) == pytest.approx(5 * 1000, rel=0.02)
    chains = [r.message for r in records if r.channel == "market:option_chain"]
    assert all(len(c["strikes"]) == 101 for c in chains)


def _chain_volume(path: Path) -> int:
    chains = [r.message for r in read_capture(path) if r.channel == "market:option_chain"]
    assert chains
    return sum(row["volume"] for c in chains for row in [*c["calls"], *c["puts"]])


def test_feed_session_chooses_when_options_trade(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Saturday: the default simulated session trades, the exchange calendar does not."""
    saturday = ["--start", "2026-11-28T06:00:00Z"]  # 11:30 IST
    simulated, exchange = tmp_path / "simulated.gz", tmp_path / "exchange.gz"
    assert _record(simulated, *saturday, "--products", "NIFTY") == 0
    monkeypatch.setenv("FEED_SESSION", "exchange")
    assert _record(exchange, *saturday, "--products", "NIFTY") == 0
    assert _chain_volume(simulated) > 0
    assert _chain_volume(exchange) == 0


def test_a_bad_feed_session_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_SESSION", "weekends")
    assert main(DRY) == 2
    assert "FEED_SESSION" in _error_line(capsys)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--venue", "kite"], "--venue=kite needs KITE_API_KEY and KITE_ACCESS_TOKEN"),
        (["--venue", "nasdaq"], "--venue: expected a comma list of synthetic, deribit"),
        (["--venue", "deribit", "--products", "NIFTY"], "--products: apply to the synthetic"),
        (["--venue", "deribit", "--seed", "0"], "--seed: apply to the synthetic venue only"),
        (["--venue", "deribit", *DRY], "--no-publish applies to the synthetic venue alone"),
        (["--venue", "deribit", "--replay", "x.gz"], "--venue cannot be combined with --replay"),
    ],
)
def test_bad_venue_options_are_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(args) == 2
    assert expected in _error_line(capsys)


def test_feed_venues_is_refused_when_kite_has_no_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_VENUES", "synthetic,kite")
    assert main(DRY) == 2
    assert "FEED_VENUES=kite needs KITE_API_KEY" in _error_line(capsys)


class ListSink:
    """Keeps every message it is sent; checks that batches never arrive concurrently."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, object]]] = []
        self.busy = threading.Lock()
        self.overlaps = 0

    def send(self, batch: Sequence[Encoded]) -> None:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            return
        try:
            self.messages.extend((channel, json.loads(data)) for _, channel, data in batch)
        finally:
            self.busy.release()

    def close(self) -> None:
        pass

    def products(self, channel: str) -> set[object]:
        return {m["product"] for c, m in list(self.messages) if c == channel}


@pytest.fixture
def sim() -> Iterator[DeribitSim]:
    server = DeribitSim(interval=0.05).start_in_thread()
    yield server
    server.stop_thread()


def _wait(condition: object, stop: threading.Event, timeout: float = 30.0) -> bool:
    waited = 0.0
    while not condition():  # type: ignore[operator]
        if waited >= timeout:
            return False
        stop.wait(0.05)
        waited += 0.05
    return True


@pytest.mark.timeout(60)
def test_venues_of_feed_venues_run_on_their_own_threads_through_the_same_sinks(
    monkeypatch: pytest.MonkeyPatch, sim: DeribitSim
) -> None:
    monkeypatch.setenv("FEED_VENUES", "synthetic,deribit-sim")
    monkeypatch.setenv("DERIBIT_SIM_PORT", str(sim.port))
    monkeypatch.setenv("DERIBIT_CURRENCIES", "BTC")
    plan_ = feed_generator.cli.plan(["--products", "NIFTY", "--start", START])
    assert plan_.venues == ("synthetic", "deribit-sim")
    sink = ListSink()
    venues = feed_generator.cli.build_venues(plan_, [sink], Progress(interval=0))
    assert isinstance(venues[0], SyntheticVenue)
    assert isinstance(venues[1], DeribitVenue)
    assert (venues[1].name, venues[1].currencies) == ("deribit-sim", ["BTC"])
    assert venues[1].rest_url == f"http://127.0.0.1:{sim.port}/api/v2"
    stop = threading.Event()
    runner = threading.Thread(target=feed_generator.cli.run_venues, args=(venues, [sink], stop))
    runner.start()
    try:
        chains = "market:option_chain"
        assert _wait(lambda: sink.products(chains) == {"NIFTY", "BTC"}, stop)
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()
    assert sink.overlaps == 0
    assert sink.products("market:underlying") == {"NIFTY", "BTC"}


def test_a_venue_that_ends_stops_the_others() -> None:
    class Ends:
        name, products, health = "ends", ("X",), None

        def run(self, sinks: Sequence[object], stop: threading.Event) -> None:
            pass

    class Waits(Ends):
        name = "waits"

        def run(self, sinks: Sequence[object], stop: threading.Event) -> None:
            assert stop.wait(30)

    stop = threading.Event()
    feed_generator.cli.run_venues([Ends(), Waits()], [], stop)  # type: ignore[list-item]
    assert stop.is_set()


def test_every_venue_thread_logs_with_the_runs_trace_id() -> None:
    seen: dict[str, str | None] = {}

    class Records:
        name, products, health = "a", ("X",), None

        def run(self, sinks: Sequence[object], stop: threading.Event) -> None:
            seen[self.name] = current_trace_id()

    class Other(Records):
        name = "b"

    with trace() as trace_id:
        feed_generator.cli.run_venues([Records(), Other()], [], threading.Event())  # type: ignore[list-item]
    assert seen == {"a": trace_id, "b": trace_id}


@pytest.mark.redis
def test_the_redis_sink_bounds_the_raw_streams_by_raw_stream_maxlen(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("RAW_STREAM_MAXLEN", "5000")
    plan_ = feed_generator.cli.plan(["--redis-url", redis_url, "--duration", "1"])
    with contextlib.ExitStack() as stack:
        (sink,) = feed_generator.cli.open_sinks(plan_, stack)
        assert isinstance(sink, RedisSink)
        assert sink.maxlen == 5000
