"""What the benchmarks share: a sample enriched chain, waiting for a service, a JSON POST,
stopping the processes they started."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson


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
