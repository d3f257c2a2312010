"""The feed, run as a real process with FEED_METRICS_PORT, serves each venue's health at
/metrics: the synthetic market and the Deribit connector (against the local simulator)
live, their message counters growing from one scrape to the next; the server stops with
the feed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.embedded_redis import free_port
from feed_generator.venues.deribit.sim import DeribitSim
from tests.support.processes import wait_until
from tests.support.scrape import Scrape, scrape

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def sim() -> Iterator[DeribitSim]:
    server = DeribitSim(interval=0.05).start_in_thread()
    yield server
    server.stop_thread()


def _scrape(base_url: str) -> Scrape | None:
    try:
        return scrape(base_url, timeout=5.0)
    except OSError:  # not serving yet
        return None


@pytest.mark.timeout(90)
def test_the_feed_serves_live_venue_series_on_its_metrics_port(
    redis_url: str, sim: DeribitSim
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LOG_LEVEL": "WARNING",
        "FEED_VENUES": "synthetic,deribit-sim",
        "DERIBIT_SIM_PORT": str(sim.port),
        "DERIBIT_CURRENCIES": "BTC",
        "FEED_METRICS_PORT": str(port),
        "METRICS_HOST": "127.0.0.1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "feed_generator", "--redis-url", redis_url, "--seed", "5",
         "--products", "NIFTY,BANKNIFTY"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    pages: list[Scrape] = []
    products = [("synthetic", "NIFTY"), ("synthetic", "BANKNIFTY"), ("deribit-sim", "BTC")]

    def both_live_with_messages() -> bool:
        page = _scrape(base_url)
        if page is None:
            return False
        pages.append(page)
        live = all(
            [s.value for s in page.matching("optionsflow_feed_state", venue=v)] == [0.0]
            for v in ("synthetic", "deribit-sim")
        )
        return live and all(
            page.value("optionsflow_feed_messages_total", venue=v, product=p) > 0
            for v, p in products
        )

    try:
        assert wait_until(both_live_with_messages, timeout=45.0), (
            pages[-1].samples if pages else "never served"
        )
        first = pages[-1]
        assert first.families["optionsflow_feed_messages"] == "counter"
        assert first.families["optionsflow_feed_state"] == "gauge"
        synthetic = {
            s.labels["product"]
            for s in first.matching("optionsflow_feed_messages_total", venue="synthetic")
        }
        deribit = {
            s.labels["product"]
            for s in first.matching("optionsflow_feed_messages_total", venue="deribit-sim")
        }
        assert (synthetic, deribit) == ({"BANKNIFTY", "NIFTY"}, {"BTC"})
        # the connector's own series: a fresh connection at the simulator's few instruments
        # neither waits for its rate budget nor opens its REST circuit
        assert first.matching("optionsflow_feed_rate_wait_seconds_total", venue="deribit-sim")
        assert first.value("optionsflow_feed_circuit_open_total", venue="deribit-sim") == 0.0
        assert not first.matching("optionsflow_feed_circuit_open_total", venue="synthetic")
        assert first.value("optionsflow_feed_reconnects_total", venue="deribit-sim") == 0.0
        assert first.value("optionsflow_feed_resyncs_total", venue="deribit-sim") >= 1.0
        for venue, product in [("synthetic", "NIFTY"), ("deribit-sim", "BTC")]:
            ages = first.matching(
                "optionsflow_feed_last_message_age_seconds", venue=venue, product=product
            )
            stamps = first.matching(
                "optionsflow_feed_last_message_timestamp_seconds", venue=venue, product=product
            )
            assert len(ages) == len(stamps) == 1, (venue, ages, stamps)
            assert ages[0].value >= 0.0, (venue, ages)

        def grown() -> bool:
            page = _scrape(base_url)
            return page is not None and all(
                page.value("optionsflow_feed_messages_total", venue=v, product=p)
                > first.value("optionsflow_feed_messages_total", venue=v, product=p)
                for v, p in products
            )

        assert wait_until(grown, timeout=20.0), "the message counters did not grow"
        # the process's other series are on the same page (the default registry)
        assert "process_cpu_seconds" in first.families
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert _scrape(base_url) is None  # the server stopped with the feed
