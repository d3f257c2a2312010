"""Where filed lines go: the archive files with the query index, and Elasticsearch."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

import orjson
import urllib3

from logging_service.archive import Archive
from logging_service.index import LogIndex
from logging_service.metrics import REJECTED
from logging_service.records import Record


class ArchiveSink:
    """Append to the rotating files, then index; every id may then be acknowledged.

    Retention runs here too (the only writer): every ``expire_every_s`` the
    index forgets lines older than ``retention_s``."""

    name = "archive"

    def __init__(
        self, archive: Archive, index: LogIndex, retention_s: int, expire_every_s: float = 60.0
    ) -> None:
        self.archive = archive
        self.index = index
        self._retention_us = retention_s * 1_000_000
        self._expire_every_s = expire_every_s
        self._next_expiry = 0.0

    def file(self, records: Sequence[Record]) -> Sequence[str]:
        self.archive.write([r.line for r in records])
        self.index.add(records)
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + self._expire_every_s
            self.index.expire(int(time.time() * 1_000_000) - self._retention_us)
        return [r.id for r in records]


_RETRYABLE = frozenset({429, 500, 502, 503, 504})


class ElasticsearchSink:
    """Index lines with the bulk API into ``<prefix>-YYYY.MM.DD`` (UTC, by the line's
    time), with the stream id as the document id, so a retried batch overwrites
    rather than duplicates. A line refused for good (4xx other than 429) is counted
    and acknowledged; a refused batch or a retryable item stays pending."""

    name = "elasticsearch"

    def __init__(self, url: str, index_prefix: str = "optionsflow-logs", timeout_s: float = 10.0):
        self._url = f"{url}/_bulk"
        self._prefix = index_prefix
        self._http = urllib3.PoolManager(
            num_pools=1, maxsize=1, timeout=urllib3.Timeout(connect=2.0, read=timeout_s),
            retries=False,
        )  # fmt: skip

    def body(self, records: Sequence[Record]) -> bytes:
        parts: list[bytes] = []
        for r in records:
            day = dt.datetime.fromtimestamp(r.time_us / 1e6, dt.UTC).strftime("%Y.%m.%d")
            parts.append(orjson.dumps({"index": {"_index": f"{self._prefix}-{day}", "_id": r.id}}))
            parts.append(_document(r))
        return b"\n".join(parts) + b"\n"

    def file(self, records: Sequence[Record]) -> Sequence[str]:
        response = self._http.request(
            "POST",
            self._url,
            body=self.body(records),
            headers={"Content-Type": "application/x-ndjson"},
        )
        if response.status != 200:
            raise OSError(f"bulk request answered {response.status}")
        reply = orjson.loads(response.data)
        if not reply.get("errors"):
            return [r.id for r in records]
        done: list[str] = []
        for record, item in zip(records, reply["items"], strict=True):
            status = next(iter(item.values())).get("status", 500)
            if status in _RETRYABLE:
                continue
            if status >= 300:
                REJECTED.inc()
            done.append(record.id)
        return done


def _document(record: Record) -> bytes:
    """The line's own fields, with ``@timestamp`` for Kibana; a non-JSON line as ``message``."""
    try:
        doc = orjson.loads(record.line)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        doc = {"message": record.line, "service": record.service}
    doc["@timestamp"] = dt.datetime.fromtimestamp(record.time_us / 1e6, dt.UTC).isoformat()
    return orjson.dumps(doc)
