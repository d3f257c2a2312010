"""Log lines shipped to the Redis Stream: bounded, never blocking, drops counted."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest
import redis

from common.embedded_redis import free_port
from common.jsonlog import configure_logging, trace
from common.logship import DROPPED, FIELD, RedisStreamHandler
from common.redis_client import make_redis


def _dropped(reason: str) -> float:
    return DROPPED.labels(reason)._value.get()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("logship-test")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def _ship(logger: logging.Logger, handler: RedisStreamHandler, console: io.StringIO) -> None:
    configure_logging("storage_service", "INFO", stream=console)  # the console formatter
    formatter = logging.getLogger().handlers[0].formatter
    context = logging.getLogger().handlers[0].filters[0]
    handler.setFormatter(formatter)
    handler.addFilter(context)
    logger.addHandler(handler)


def test_lines_land_in_the_stream_with_service_and_trace(
    logger: logging.Logger, redis_url: str, redis_client: redis.Redis
) -> None:
    handler = RedisStreamHandler(lambda: make_redis(redis_url), stream="logs-test")
    _ship(logger, handler, io.StringIO())
    with trace("trace-abc"):
        logger.info("stored a chain", extra={"seq": 7})
    logger.warning("no trace here")
    handler.close()
    entries = redis_client.xrange("logs-test")
    lines = [json.loads(fields[FIELD.encode()]) for _id, fields in entries]
    assert [(x["message"], x["level"], x["service"], x["trace_id"]) for x in lines] == [
        ("stored a chain", "INFO", "storage_service", "trace-abc"),
        ("no trace here", "WARNING", "storage_service", None),
    ]
    assert lines[0]["seq"] == 7


def test_the_stream_is_bounded(
    logger: logging.Logger, redis_url: str, redis_client: redis.Redis
) -> None:
    handler = RedisStreamHandler(lambda: make_redis(redis_url), stream="logs-bound", maxlen=50)
    _ship(logger, handler, io.StringIO())
    for i in range(2_000):
        logger.info("line %d", i)
    handler.close(timeout=10)
    length = redis_client.xlen("logs-bound")
    assert 50 <= length <= 50 + 100  # MAXLEN ~ trims whole nodes (100 entries)
    last = redis_client.xrevrange("logs-bound", count=1)[0][1][FIELD.encode()]
    assert json.loads(last)["message"] == "line 1999"  # the newest kept


def test_an_unreachable_redis_drops_without_blocking(logger: logging.Logger) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    handler = RedisStreamHandler(
        lambda: make_redis(dead, socket_timeout=0.2, retries=0), queue_size=100
    )
    console = io.StringIO()
    _ship(logger, handler, console)
    logger.addHandler(logging.getLogger().handlers[0])  # and the console, as a service has
    before_full, before_down = _dropped("queue_full"), _dropped("redis_unavailable")
    for i in range(1_000):  # never waits on Redis: what does not fit is dropped, counted
        logger.info("while Redis is down %d", i)
    deadline = time.monotonic() + 5
    while _dropped("redis_unavailable") == before_down and time.monotonic() < deadline:
        time.sleep(0.05)
    handler.close(timeout=1)
    full, down = _dropped("queue_full") - before_full, _dropped("redis_unavailable") - before_down
    assert full >= 1
    assert down >= 1
    assert full + down + handler.pending() == 1_000  # each line dropped and counted, or queued
    assert console.getvalue().count("while Redis is down") == 1_000  # stdout still has all


class _Recording:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.closed = False

    def ship(self, line: str) -> None:
        self.lines.append(line)

    def close(self) -> None:
        self.closed = True


def test_the_console_line_is_shipped_as_written_and_the_shipper_closed_on_reconfigure() -> None:
    console, shipper = io.StringIO(), _Recording()
    configure_logging("api_gateway", "INFO", stream=console, shipper=shipper)
    with trace("t-1"):
        logging.getLogger("access").info("request", extra={"status": 200})
    logging.getLogger("access").debug("below the level")
    assert shipper.lines == console.getvalue().splitlines()
    (line,) = (json.loads(x) for x in shipper.lines)
    assert (line["service"], line["trace_id"], line["status"]) == ("api_gateway", "t-1", 200)
    configure_logging("api_gateway", "INFO", stream=io.StringIO())
    assert shipper.closed
