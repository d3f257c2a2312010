"""What the benchmarks share: a sample enriched chain, starting a service and waiting for
it, a JSON POST, stopping the processes they started, their CPU time."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from common.devstack import gateway_processes

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
"""Seconds per clock tick of ``/proc/<pid>/stat``'s CPU times."""


def enriched_chain_bytes(expiry: str, product: str = "NIFTY") -> bytes:
    """One enriched 21-strike chain, as the workers cache it."""
    from optionsmath import enrich_chain

    spot, strikes = 24_000.0, [23_500.0 + 50 * i for i in range(21)]
    now = dt.datetime.now(dt.UTC)

    def row(k: float, call: bool) -> dict[str, Any]:
        intrinsic = max(spot - k, 0.0) if call else max(k - spot, 0.0)
        mid = intrinsic + 60.0 * math.exp(-(((k - spot) / 400.0) ** 2)) + 5.0
        return {"strike": k, "bid": round(mid - 0.5, 2), "ask": round(mid + 0.5, 2),
                "last": round(mid, 2), "volume": 1000, "oi": 50_000}  # fmt: skip

    chain = {
        "product": product, "expiry": expiry, "spot_price": spot, "strikes": strikes,
        "calls": [row(k, True) for k in strikes], "puts": [row(k, False) for k in strikes],
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "seq": 1,
    }  # fmt: skip
    enriched = enrich_chain(chain, previous=None)
    enriched["processed_at"] = chain["timestamp"]
    return orjson.dumps(enriched)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} exited:\n{log.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url + "/healthz", timeout=1) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} not healthy in {timeout} s:\n{log.read_text()[-2000:]}")


def start_service(
    name: str, port: int, base_env: dict[str, str], workdir: Path
) -> subprocess.Popen[bytes]:
    """HTTP service ``name`` (its package) under gunicorn as ``make up`` runs it: the gateway
    a process per core and one more with 32 threads each, the others 2 × 8 behind one
    trusted proxy; its log in ``workdir/{name}.log``. Returns once it is healthy (or stops
    it and exits with its log's tail)."""
    gateway = name == "api_gateway"
    metrics = workdir / "prometheus" / name
    metrics.mkdir(parents=True)
    env = base_env | {
        "SERVICE_NAME": name, "PROXY_HOPS": "0" if gateway else "1",
        "GUNICORN_THREADS": "32" if gateway else "8",
        "WEB_CONCURRENCY": str(gateway_processes()) if gateway else "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }  # fmt: skip
    log = workdir / f"{name}.log"
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:common.gunicorn_conf",
            "--bind", f"127.0.0.1:{port}", f"{name}.wsgi:app"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log, 60)
    except BaseException:
        stop_processes([proc])
        raise
    return proc


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) * TICK_S
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo += children.get(p, [])
    return total


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return dict(json.loads(resp.read()))


def stop_processes(procs: list[subprocess.Popen[bytes]], grace_s: float = 15.0) -> None:
    """SIGTERM each process group, then SIGKILL the ones still running after ``grace_s``."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
