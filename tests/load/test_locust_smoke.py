"""A short, bounded Locust run of ``tests/load/locustfile.py`` against ``make up``'s
process set on loopback: the crash-day profile shrunk to seconds and a dozen users.

Locust runs as a subprocess: importing it here would monkey-patch this process with
gevent. Its CSV statistics are then checked: every user signed in, each group of REST
routes answered without a failure, every viewer connected and subscribed, live updates
arrived with a delivery latency recorded, the shape reached its peak and ended the run.
Nothing here judges speed: the generator shares the cores with the system it loads.
"""

from __future__ import annotations

import csv
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import pytest
import redis

from common.latest import LatestReader
from common.redis_client import make_redis
from tests.e2e.conftest import Devstack
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "tests" / "load" / "locustfile.py"
START_USERS, PEAK_USERS = 2, 4
CRASH_DAY = {
    "OPTIONSFLOW_LOAD_PROFILE": "crash-day",
    "OPTIONSFLOW_CRASH_START_USERS": str(START_USERS),
    "OPTIONSFLOW_CRASH_PEAK_USERS": str(PEAK_USERS),
    "OPTIONSFLOW_CRASH_SPAWN_RATE": "1",
    "OPTIONSFLOW_CRASH_BASELINE": "2s",
    "OPTIONSFLOW_CRASH_RAMP": "2s",
    "OPTIONSFLOW_CRASH_HOLD": "16s",
}
"""2 users for 2 s, 4 by 4 s, held until 20 s: the shape then ends the run. Few users:
each sign-in costs two Argon2id hashes in auth_service (~0.35 s of CPU each) on cores
the pipeline and Locust share; on a busy machine a hash takes over a second."""
SIGN_IN = ("/api/auth/register", "/api/auth/login")
SLOW_SIGN_IN = ("504 upstream_timeout", "503 unavailable")
"""The only failures allowed, and only on the sign-in routes: each is an Argon2id hash
(~0.3 s of CPU) and the pipeline keeps a core of the two busy, so a few sign-ins at once
can outlast the gateway's 5 s upstream timeout (auth_service's Redis calls, 1 s, fail
the same way). The user signs in again, as a person would; the run must still sign
every user in."""
FOREIGN_SETTINGS = ("OPTIONSFLOW_", "LOCUST_")
"""A developer's own load-test settings stay out of the smoke run."""
RUN_TIMEOUT_S = 45
READY_TIMEOUT_S = 40
LATENCY_BOUND_MS = 60_000
"""A delivery latency above a minute would be a clock or unit error, not slowness."""

Row = dict[str, str]


# -- the system ----------------------------------------------------------------------------


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _live_chains(client: redis.Redis) -> frozenset[tuple[str, str]]:
    listing = LatestReader(client).listing()
    return frozenset((product, e) for product, expiries in listing.items() for e in expiries)


def _wait_for_the_pipeline(stack: Devstack) -> None:
    """Both gateways ready and the set of live chains settled: the workers store a chain
    before caching it, so the product listing (cached 30 s by storage_service) that the
    users load first lists them all."""
    client = make_redis(stack.redis_url())
    socket = f"http://127.0.0.1:{stack.ports['SOCKET_GATEWAY_PORT']}"
    seen: list[frozenset[tuple[str, str]]] = []

    def settled() -> bool:
        seen.append(_live_chains(client))
        return len(seen) > 10 and bool(seen[-1]) and seen[-1] == seen[-11]

    try:
        ready = wait_until(
            lambda: _ok(stack.gateway + "/readyz") and _ok(socket + "/readyz") and settled(),
            READY_TIMEOUT_S,
            interval=0.2,
        )
    finally:
        client.close()
    tail = "".join(stack.out[-30:])
    assert ready, f"the pipeline never settled; chains seen last: {sorted(seen[-1:])}\n{tail}"


# -- Locust ----------------------------------------------------------------------------------


def _run_locust(stack: Devstack, csv_prefix: Path) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", stack.gateway, "--csv", str(csv_prefix), "--only-summary",
        "--user-prefix", f"smoke{secrets.token_hex(4)}",
    ]  # fmt: skip
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_SETTINGS)}
    env = {**inherited, **CRASH_DAY}
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )


def _read(path: Path) -> list[Row]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _by_name(rows: Iterable[Row], kind: str) -> dict[str, Row]:
    return {row["Name"]: row for row in rows if row["Type"] == kind}


def _count(row: Row | None) -> int:
    return int(row["Request Count"]) if row else 0


def _successes(row: Row | None) -> int:
    return _count(row) - int(row["Failure Count"]) if row else 0


def _slow_sign_in(failure: Row) -> bool:
    return failure["Name"] in SIGN_IN and any(e in failure["Error"] for e in SLOW_SIGN_IN)


# -- the test --------------------------------------------------------------------------------


def test_a_short_crash_day_signs_everyone_in_and_delivers_updates(
    stack: Devstack, tmp_path: Path
) -> None:
    _wait_for_the_pipeline(stack)
    began = time.monotonic()
    run = _run_locust(stack, tmp_path / "run")
    took = time.monotonic() - began
    report = f"locust exited {run.returncode} after {took:.0f} s:\n{run.stderr[-4000:]}"

    stats = _read(tmp_path / "run_stats.csv")
    failures = [row for row in _read(tmp_path / "run_failures.csv") if not _slow_sign_in(row)]
    assert not failures, f"{failures}\n{report}"
    assert run.returncode in (0, 1), report  # 1: some sign-in was slow (checked above)
    assert "Shape test completed" in run.stderr, report  # the profile ended the run itself

    users = max(int(row["User Count"]) for row in _read(tmp_path / "run_stats_history.csv"))
    assert users == PEAK_USERS, report

    rest, post, live = (_by_name(stats, kind) for kind in ("GET", "POST", "socketio"))
    for route in SIGN_IN:  # every user registered and logged in, once
        assert _successes(post.get(route)) == PEAK_USERS, f"{route}\n{report}"

    viewers = _count(rest.get("/config.json"))  # each viewer reads it once
    assert 0 < viewers < PEAK_USERS, report  # both kinds of user ran
    groups = {
        "products": "/api/products",
        "latest chain": "/api/data/chain/[product]?expiry",
        "underlying": "/api/data/underlying/[product]",
        "history": "/api/data/chain/[product]/history",
        "analytics": "/api/analytics/[product]/series",
    }
    for group, name in groups.items():
        assert _count(rest.get(name)) > 0, f"no {group} request\n{report}"
    # A viewer may still be at its REST reads when the run ends: not every one need be live.
    for step in ("connect", "subscribe", "snapshot chain_update"):  # a snapshot on subscribe
        assert _count(live.get(step)) > 0, f"no {step}\n{report}"

    for event in ("update chain_update", "update underlying_update"):
        row = live.get(event)
        assert _count(row) > 0, f"no {event} received\n{report}"
        assert row is not None
        assert 0 <= float(row["Min Response Time"]) <= float(row["Max Response Time"])
        assert float(row["Max Response Time"]) < LATENCY_BOUND_MS, row
        assert float(row["Average Content Size"]) > 0, row  # packet sizes are recorded
