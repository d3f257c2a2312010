"""The generator against a real Redis: what subscribers receive, at default and at load rates."""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import feed_generator.cli
from common.names import MARKET_CHANNELS
from feed_generator.cli import main
from feed_generator.market import Market, Rates
from feed_generator.products import resolve_products
from feed_generator.runner import encode
from feed_generator.venues.synthetic import SyntheticVenue
from tests.support.clock import FakeClock

pytestmark = pytest.mark.redis

START = "2026-11-23T04:00:00Z"
START_DT = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[3]


def _expected(seconds: float, rates: Rates | None = None) -> list[tuple[str, str]]:
    market = Market(11, START_DT, resolve_products(None), rates=rates)
    return [(channel, data) for _, channel, data in encode(market.advance(seconds))]


def _per_channel(raw: list[tuple[str, str]]) -> dict[str, list[str]]:
    return {c.value: [d for ch, d in raw if ch == c.value] for c in MARKET_CHANNELS}


def test_default_rates_deliver_every_message_valid_and_in_sequence(
    redis_url: str, collector: Any, check_stream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()  # the run's pace is on this clock, not on the machine's
    paced = functools.partial(SyntheticVenue, clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(feed_generator.cli, "SyntheticVenue", paced)
    args = ["--redis-url", redis_url, "--duration", "2.5", "--seed", "11", "--start", START]
    assert main([*args, "--progress-interval", "1"]) == 0
    raw = collector.stop()
    assert 2.5 <= clock.elapsed < 2.6  # publishing runs in real time: it waited for its clock
    by_key = check_stream(raw)
    assert len(by_key) == 3 * 8
    # The model is deterministic, so we know exactly what had to arrive.
    assert _per_channel(raw) == _per_channel(_expected(2.5))


def test_load_mode_keeps_up_and_loses_nothing(
    redis_url: str, collector: Any, check_stream: Any
) -> None:
    load = 3000.0
    args = ["--redis-url", redis_url, "--duration", "2", "--seed", "11", "--start", START]
    assert main([*args, "--load", str(load)]) == 0
    raw = collector.stop()
    check_stream(raw)
    # the run's messages all arrived; its pace against the clock is bench/feed.py's to
    # measure (a test never asserts wall-clock time: this failed on a loaded machine)
    assert len(raw) == pytest.approx(2 * load, rel=0.02)


def test_sigterm_stops_cleanly(redis_url: str, collector: Any, check_stream: Any) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "feed_generator", "--redis-url", redis_url, "--seed", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOG_LEVEL": "INFO"},
    )
    try:
        assert collector.wait_for(100, timeout=15.0), "the feed published nothing"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert '"signal": "SIGTERM"' in err
    assert '"message": "finished"' in err
    check_stream(collector.stop())


def test_without_a_redis_url_an_embedded_redis_is_started(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["--duration", "0.3", "--products", "NIFTY"]) == 0
    err = capsys.readouterr().err
    assert '"message": "embedded redis started"' in err
    assert '"redis_url": "redis://127.0.0.1:' in err
