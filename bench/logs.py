"""Benchmark of logging_service: how fast it files a backlog, how fast it answers.

Run: ``.venv/bin/python bench/logs.py --lines 200000``.

Starts a private redis-server, appends ``--lines`` access-log lines to the
Redis Stream ``logs`` (about 300 bytes each, as the gateway writes them, five
lines per trace id), then starts logging_service under gunicorn (one process,
as ``make up`` runs it) and times how long its collector takes to file them
all (archive file and query index, acknowledged): the backlog a restart after
an outage leaves. Then it times ``GET /logs`` by trace id, by service and
lowest level, and by time range, ``--queries`` of each, over the full index.
Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from support import stop_processes, wait_healthy

from common.embedded_redis import EmbeddedRedis, free_port
from common.logship import FIELD
from common.redis_client import make_redis

SERVICES = ("api_gateway", "storage_service", "analytics_service", "auth_service", "worker")


def _line(n: int, when: dt.datetime) -> bytes:
    return orjson.dumps(
        {
            "level": "WARNING" if n % 50 == 0 else "INFO",
            "service": SERVICES[n % len(SERVICES)],
            "trace_id": f"trace-{n // 5:08d}",
            "logger": "access",
            "message": "request",
            "method": "GET",
            "path": "/api/data/chain/NIFTY",
            "status": 200,
            "duration_ms": 1.234,
            "time": when.isoformat(),
        }
    )


def _fill(client: Any, lines: int) -> dt.datetime:
    """Append ``lines`` lines, 1 ms apart, ending now; the first line's time."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=lines)
    for first in range(0, lines, 5000):
        pipe = client.pipeline(transaction=False)
        for n in range(first, min(first + 5000, lines)):
            pipe.xadd("logs", {FIELD: _line(n, start + dt.timedelta(milliseconds=n))})
        pipe.execute()
    return start


def _filed(index: Path) -> int:
    """Lines in the query index (filed after the archive file, acknowledged after both)."""
    if not index.exists():
        return 0
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT count(*) FROM lines").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        db.close()


def _timed(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        count = json.loads(resp.read())["count"]
    return (time.perf_counter() - started) * 1000, int(count)


def _latencies(urls: list[str]) -> dict[str, float]:
    results = [_timed(url) for url in urls]
    ms = np.array([r[0] for r in results])
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "lines_per_answer": round(float(np.mean([r[1] for r in results])), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-bench-logs-"))
    with EmbeddedRedis() as redis_server:
        client = make_redis(redis_server.url)
        start = _fill(client, args.lines)
        print(f"{args.lines} lines in the stream", file=sys.stderr)
        port = free_port()
        env = {
            **os.environ, "REDIS_URL": redis_server.url, "VAR_DIR": str(workdir),
            "LOG_DIR": str(workdir / "logs"), "WEB_CONCURRENCY": "1", "LOG_SHIPPING": "0",
            "LOG_STREAM_MAXLEN": str(max(args.lines * 2, 100)),
        }  # fmt: skip
        log = workdir / "logging_service.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:common.gunicorn_conf",
                 "--bind", f"127.0.0.1:{port}", "logging_service.wsgi:app"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, proc, log, timeout=60)
            # the rate is timed from the first filed batch seen to the last (not the start-up)
            filed = first_filed = 0
            first_at = last_report = time.monotonic()
            while filed < args.lines:
                time.sleep(0.1)
                filed = _filed(workdir / "logs" / "index.sqlite3")
                if not first_filed and filed:
                    first_filed, first_at = filed, time.monotonic()
                if time.monotonic() - last_report >= 2:
                    last_report = time.monotonic()
                    print(f"filed {filed}/{args.lines}", file=sys.stderr)
            ingest_s = time.monotonic() - first_at
            traces = [f"trace-{random.randrange(args.lines // 5):08d}" for _ in range(args.queries)]
            windows = [
                start + dt.timedelta(milliseconds=random.randrange(args.lines))
                for _ in range(args.queries)
            ]
            result = {
                "lines": args.lines,
                "ingest_s": round(ingest_s, 2),
                "ingest_lines_per_s": round((args.lines - first_filed) / ingest_s),
                "archive_bytes": sum(p.stat().st_size for p in (workdir / "logs").glob("*.jsonl*")),
                "by_trace_id": _latencies([f"{base}/logs?trace_id={t}" for t in traces]),
                "by_service_and_level": _latencies(
                    [f"{base}/logs?service=api_gateway&level=WARNING&limit=100"] * args.queries
                ),
                "by_time_range": _latencies(
                    [
                        f"{base}/logs?start={w.isoformat().replace('+00:00', 'Z')}&limit=500"
                        for w in windows
                    ]
                ),
            }
            print(json.dumps(result))
        finally:
            stop_processes([proc])
            client.close()


if __name__ == "__main__":
    main()
