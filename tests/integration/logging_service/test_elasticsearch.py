"""Forwarding to Elasticsearch's bulk API (a local stand-in answering as Elasticsearch
does): every line indexed once under its stream id, retryable refusals retried, lasting
ones counted, a failed request retried whole."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
import redis
from flask import Flask, request

from common.logship import FIELD
from common.redis_client import make_redis
from logging_service.collector import SinkError, StreamConsumer
from logging_service.metrics import REJECTED
from logging_service.sinks import ElasticsearchSink
from tests.support.http import served

pytestmark = pytest.mark.redis


class FakeElasticsearch:
    """Fails the first bulk request with 503; refuses line ``n == 3`` once with 429 and
    line ``n == 5`` for good with 400; indexes the rest by ``_id``."""

    def __init__(self) -> None:
        self.app = Flask("elasticsearch")
        self.requests = 0
        self.docs: dict[str, tuple[str, dict[str, Any]]] = {}
        self.throttled_once = False
        self.lock = threading.Lock()
        self.app.post("/_bulk")(self.bulk)

    def bulk(self) -> Any:
        assert request.content_type == "application/x-ndjson"
        with self.lock:
            self.requests += 1
            if self.requests == 1:
                return {"error": "unavailable"}, 503
            lines = request.get_data().splitlines()
            items = []
            for action, source in zip(lines[::2], lines[1::2], strict=True):
                meta, doc = orjson.loads(action)["index"], orjson.loads(source)
                status = 201
                if doc.get("n") == 3 and not self.throttled_once:
                    self.throttled_once, status = True, 429
                elif doc.get("n") == 5:
                    status = 400
                else:
                    self.docs[meta["_id"]] = (meta["_index"], doc)
                items.append({"index": {"_id": meta["_id"], "status": status}})
            return {"errors": any(i["index"]["status"] >= 300 for i in items), "items": items}


def test_lines_reach_elasticsearch_once_each(redis_url: str, redis_client: redis.Redis) -> None:
    ids = []
    for n in range(8):
        line = {"n": n, "time": "2026-12-02T15:38:09.5+00:00", "level": "INFO", "service": "w"}
        ids.append(redis_client.xadd("logs", {FIELD: orjson.dumps(line)}).decode())
    redis_client.xadd("logs", {FIELD: b"not json"})
    fake = FakeElasticsearch()
    rejected_before = REJECTED._value.get()
    with served(fake.app) as url:
        consumer = StreamConsumer(
            lambda: make_redis(redis_url, retries=0), ElasticsearchSink(url), "es", block_ms=50
        )
        with pytest.raises(SinkError, match="503"):
            consumer.step()
        with pytest.raises(SinkError, match="1 lines refused for now"):  # run() backs off
            consumer.step()
        assert redis_client.xpending("logs", "elasticsearch")["pending"] == 1  # the rest acked
        for _ in range(5):
            consumer.step()
    assert redis_client.xpending("logs", "elasticsearch")["pending"] == 0
    assert sorted(fake.docs) == sorted([i for n, i in enumerate(ids) if n != 5] + [fake_last(fake)])
    index, doc = fake.docs[ids[3]]  # throttled once, then indexed
    assert index == "optionsflow-logs-2026.12.02"
    assert doc["@timestamp"] == "2026-12-02T15:38:09.500000+00:00"
    assert doc["n"] == 3
    assert REJECTED._value.get() - rejected_before == 1  # n == 5, acknowledged, not retried


def fake_last(fake: FakeElasticsearch) -> str:
    """The id of the line that was not JSON, indexed with the text as its message."""
    (doc_id,) = [i for i, (_, doc) in fake.docs.items() if doc.get("message") == "not json"]
    return doc_id
