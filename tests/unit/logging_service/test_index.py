"""The query index: filters, order, limit, idempotent filing and retention."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from logging_service.index import LogIndex, Query
from logging_service.records import Record


def _record(n: int, service: str, level: int, trace: str | None) -> Record:
    line = orjson.dumps({"n": n, "service": service, "trace_id": trace}).decode()
    return Record(f"{1000 + n}-0", 1_000_000 * n, service, level, trace, line)


@pytest.fixture
def index(tmp_path: Path) -> LogIndex:
    idx = LogIndex(tmp_path / "logs" / "index.sqlite3")
    idx.add(
        [
            _record(1, "api_gateway", 20, "t1"),
            _record(2, "storage_service", 20, "t1"),
            _record(3, "storage_service", 40, "t2"),
            _record(4, "worker", 30, None),
            _record(5, "api_gateway", 10, "t2"),
        ]
    )
    return idx


def _ns(lines: list[str]) -> list[int]:
    return [orjson.loads(line)["n"] for line in lines]


def test_each_filter_and_their_combination(index: LogIndex) -> None:
    assert _ns(index.search(Query())) == [1, 2, 3, 4, 5]
    assert _ns(index.search(Query(trace_id="t1"))) == [1, 2]
    assert _ns(index.search(Query(service="storage_service"))) == [2, 3]
    assert _ns(index.search(Query(min_level=30))) == [3, 4]
    assert _ns(index.search(Query(start_us=2_000_000, end_us=4_000_000))) == [2, 3]  # [start, end)
    assert _ns(index.search(Query(trace_id="t2", service="api_gateway"))) == [5]
    assert index.search(Query(trace_id="nope")) == []


def test_order_and_limit(index: LogIndex) -> None:
    assert _ns(index.search(Query(limit=2))) == [1, 2]
    assert _ns(index.search(Query(limit=2, newest_first=True))) == [5, 4]


def test_a_line_filed_twice_is_indexed_once(index: LogIndex) -> None:
    assert index.add([_record(3, "storage_service", 40, "t2"), _record(6, "worker", 20, None)]) == 1
    assert index.count() == 6


def test_expiry_forgets_old_lines_only(index: LogIndex) -> None:
    assert index.expire(before_us=3_000_000) == 2
    assert _ns(index.search(Query())) == [3, 4, 5]


def test_a_second_index_on_the_same_file_reads_what_the_first_wrote(
    index: LogIndex, tmp_path: Path
) -> None:
    reader = LogIndex(tmp_path / "logs" / "index.sqlite3")
    assert _ns(reader.search(Query(trace_id="t1"))) == [1, 2]
    reader.close()
