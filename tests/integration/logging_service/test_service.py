"""logging_service under gunicorn on a real Redis: lines shipped by a service are found by
``GET /logs``; killed and restarted, it loses nothing written while it was down."""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.embedded_redis import EmbeddedRedis
from common.jsonlog import configure_logging, trace
from common.logship import RedisStreamHandler
from common.redis_client import make_redis, redis_db_url
from tests.support.processes import ProcessSet, free_port, wait_until
from tests.support.scrape import scrape

pytestmark = pytest.mark.redis


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[ProcessSet]:
    env = {"REDIS_URL": redis_url, "VAR_DIR": str(tmp_path), "LOG_DIR": str(tmp_path / "logs")}
    procs = ProcessSet(tmp_path, env)
    try:
        yield procs
    finally:
        procs.close()


@pytest.fixture(scope="module")
def query_service(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One service for the cases that only query, on a database of its own: two collectors
    on one stream share its entries (one replica per stream, as deployed)."""
    tmp = tmp_path_factory.mktemp("logging-queries")
    procs = ProcessSet(tmp, {"REDIS_URL": redis_db_url(redis_server.url, 2), "VAR_DIR": str(tmp)})
    try:
        yield procs.service("logging_service", free_port())
    finally:
        procs.close()


@pytest.fixture
def shipper(redis_url: str) -> Iterator[RedisStreamHandler]:
    """This process logs as ``feed_generator`` to the stream, as every service does."""
    handler = RedisStreamHandler(lambda: make_redis(redis_url, retries=0))
    configure_logging("feed_generator", "INFO", stream=io.StringIO(), shipper=handler)
    yield handler
    handler.close()


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _lines(base: str, **query: str) -> list[dict[str, Any]]:
    status, body = _get(f"{base}/logs?{urllib.parse.urlencode(query)}")
    assert status == 200, body
    return list(body["lines"])


def _log(count: int, trace_id: str) -> None:
    log = logging.getLogger("feed_generator.test")
    with trace(trace_id):
        for n in range(count):
            log.info("tick published", extra={"n": n})


def test_lines_are_found_by_trace_service_level_and_time(
    stack: ProcessSet, shipper: RedisStreamHandler
) -> None:
    base = stack.service("logging_service", free_port())
    _log(3, "trace-one")
    with trace("trace-two"):
        logging.getLogger("feed_generator.test").error("publish failed", extra={"n": 99})
    assert wait_until(lambda: len(_lines(base, trace_id="trace-one")) == 3, timeout=20)
    lines = _lines(base, trace_id="trace-one")
    assert [x["n"] for x in lines] == [0, 1, 2]
    assert {(x["service"], x["level"], x["message"]) for x in lines} == {
        ("feed_generator", "INFO", "tick published")
    }
    assert wait_until(lambda: len(_lines(base, trace_id="trace-two")) == 1, timeout=20)
    errors = _lines(base, service="feed_generator", level="error")
    assert [(x["message"], x["trace_id"]) for x in errors] == [("publish failed", "trace-two")]
    first = lines[0]["time"]
    assert [x["n"] for x in _lines(base, trace_id="trace-one", start=first, limit="2")] == [0, 1]
    assert _lines(base, trace_id="trace-one", end=first) == []  # the end is exclusive
    newest = _lines(base, service="feed_generator", order="desc", limit="1")
    assert newest[0]["n"] == 99


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=LOUD", "level"),
        ("trace_id=has%20space", "trace_id"),
        ("limit=0", "limit"),
        ("limit=5001", "limit"),
        ("start=2026-12-02T10:00:00Z&end=2026-12-02T10:00:00Z", "end"),
        ("start=yesterday", "start"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_queries_answer_422_naming_the_field(
    query_service: str, query: str, field: str
) -> None:
    status, body = _get(f"{query_service}/logs?{query}")
    assert status == 422, body
    assert field in json.dumps(body["error"])


def test_killed_and_restarted_it_loses_nothing_written_while_it_was_down(
    stack: ProcessSet, shipper: RedisStreamHandler
) -> None:
    port = free_port()
    base = stack.service("logging_service", port)
    _log(200, "before")
    assert wait_until(lambda: len(_lines(base, trace_id="before", limit="5000")) == 200, 30)
    stack.kill("logging_service")  # SIGKILL: no shutdown, no last acknowledgement
    _log(500, "while-down")  # the services keep logging
    assert wait_until(lambda: shipper.pending() == 0, 10)
    base = stack.service("logging_service", port, name="logging_service-restarted")
    assert wait_until(lambda: len(_lines(base, trace_id="while-down", limit="5000")) == 500, 30)
    assert [x["n"] for x in _lines(base, trace_id="while-down", limit="5000")] == list(range(500))
    assert len(_lines(base, trace_id="before", limit="5000")) == 200  # none filed twice
    metrics = scrape(base)  # the restarted collector's own counters
    assert metrics.value("optionsflow_logging_lines_total", sink="archive") >= 500
    assert "optionsflow_http_request_duration_seconds" in metrics.families
    archived = (stack.log_dir / "logs" / "optionsflow.jsonl").read_text().splitlines()
    ns = [json.loads(x)["n"] for x in archived if '"while-down"' in x]
    assert sorted(set(ns)) == list(range(500))
