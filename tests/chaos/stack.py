"""The system under chaos: ``make up``'s processes under its supervisor, on free ports.

:class:`ChaosStack` starts :mod:`tests.chaos.runner` (Redis persisted with its append-only
file in the stack's directory, then the subscriber, a Celery worker, the socket gateway and
the auth, storage and logging services), knows each program's current pid from the
supervisor's ``"process started"`` lines, kills one as a crash would and tells when the
supervisor has it back and ready.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from common.embedded_redis import free_ports, ping
from common.redis_client import make_redis
from common.supervisor import die_with_parent, prepare_die_with_parent
from tests.support.processes import healthy

PROGRAMS = ("subscriber", "worker", "socket", "auth", "storage", "logging")
"""What the stack runs besides Redis (``common.devstack`` names)."""
PORT_SETTINGS = {
    "auth": "AUTH_SERVICE_PORT",
    "storage": "STORAGE_SERVICE_PORT",
    "logging": "LOGGING_SERVICE_PORT",
    "socket": "SOCKET_GATEWAY_PORT",
}
READY_LINE = {"worker": " ready.", "subscriber": '"subscribed"'}
"""What a program writes once it works, for those without ``/healthz``."""
TUNING = {
    # No coalescing: every chain published must be stored (coalescing is counted, not loss,
    # but it would hide a loss among the superseded).
    "QUEUE_HIGH_WATER": "1000000",
    # A SQLite writer waits 100 ms for a lock, not seconds: the store outage is met at once.
    "BUSY_TIMEOUT_MS": "100",
}


class ChaosStack:
    """The supervised process set in ``workdir``; :meth:`close` stops it as Ctrl-C does.

    ``env`` adds to (or overrides) the environment every program gets, e.g. the
    visibility timeout and the subscriber's claim delay."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.redis_port, *ports = free_ports(1 + len(PORT_SETTINGS))
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.ports = dict(zip(PORT_SETTINGS, ports, strict=True))
        self.store_path = workdir / "store.db"
        self.store_url = f"sqlite:///{self.store_path}"
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        skip = ("CELERY_", "SUBSCRIBER_", "REDIS_URL", "STORE_URL", "PROMETHEUS_MULTIPROC_DIR")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        self.env.update(
            VAR_DIR=str(workdir / "var"), LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
            STORE_URL=f"{self.store_url}?busy_timeout_ms={TUNING['BUSY_TIMEOUT_MS']}",
            QUEUE_HIGH_WATER=TUNING["QUEUE_HIGH_WATER"], WEB_CONCURRENCY="1",
            **{setting: str(self.ports[name]) for name, setting in PORT_SETTINGS.items()},
            **(env or {}),
        )  # fmt: skip
        self.out_path = workdir / "supervisor.out"
        self.err_path = workdir / "supervisor.err"
        self.proc: subprocess.Popen[bytes] | None = None

    # -- starting and stopping --------------------------------------------------------

    def start(self, timeout: float = 90.0) -> None:
        """Start everything; return once every program is ready."""
        argv = [
            sys.executable, "-m", "tests.chaos.runner", "--redis-port", str(self.redis_port),
            "--redis-dir", str(self.workdir / "redis"), *PROGRAMS,
        ]  # fmt: skip
        repo = Path(__file__).resolve().parents[2]
        prepare_die_with_parent()
        with self.out_path.open("ab") as out, self.err_path.open("ab") as err:
            self.proc = subprocess.Popen(
                argv, cwd=repo, env={**self.env, "PYTHONPATH": str(repo)}, stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        for name in ("redis", *PROGRAMS):
            if not self.wait_ready(name, 0, max(1.0, deadline - time.monotonic())):
                self.close()
                raise AssertionError(f"{name} not ready in {timeout} s:\n{self.tail()}")

    def close(self) -> int | None:
        """SIGTERM to the supervisor (it stops the programs, Redis last); its exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(10)

    # -- what the supervisor said -----------------------------------------------------

    def starts(self, name: str) -> list[int]:
        """The pids ``name`` was started with, in order."""
        pids = []
        for line in self.err_path.read_text(errors="replace").splitlines():
            if '"process started"' in line and f'"program": "{name}"' in line:
                pids.append(int(json.loads(line)["pid"]))
        return pids

    def output(self, name: str) -> list[str]:
        """``name``'s output lines as the supervisor relayed them (``HH:MM:SS name | …``)."""
        marker = f" {name} "
        return [
            line for line in self.out_path.read_text(errors="replace").splitlines()
            if line[8:].startswith(marker) and " | " in line
        ]  # fmt: skip

    def tail(self, chars: int = 4000) -> str:
        return (
            self.out_path.read_text(errors="replace")[-chars:]
            + self.err_path.read_text(errors="replace")[-chars:]
        )

    def pid(self, name: str) -> int:
        return self.starts(name)[-1]

    # -- faults and recovery ----------------------------------------------------------

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, group: bool = False) -> int:
        """Send ``sig`` to ``name``'s current process (its whole session with ``group``: a
        Celery worker with its pool); the start count it had, for :meth:`wait_ready`."""
        count = len(self.starts(name))
        pid = self.pid(name)
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        return count

    def ready(self, name: str) -> bool:
        """Whether ``name``'s newest process answers (Redis, HTTP) or said it is ready."""
        if name == "redis":
            return ping(self.redis_port)
        if name in self.urls:
            return healthy(self.urls[name])
        return self._ready_lines(name)

    def _ready_lines(self, name: str) -> bool:
        """The newest process's ready line: one more ready line than there were restarts."""
        lines = self.output(name)
        return sum(READY_LINE[name] in line for line in lines) >= len(self.starts(name))

    def wait_ready(self, name: str, starts_before: int, timeout: float) -> bool:
        """Wait until ``name`` has been started again (more than ``starts_before`` starts)
        and its newest process is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.starts(name)) > starts_before and self.ready(name):
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def redis(self, db: int = 0, retries: int = 5) -> redis.Redis:
        """A client of the stack's Redis (``db`` 1: the Celery broker)."""
        return make_redis(f"redis://127.0.0.1:{self.redis_port}/{db}", retries=retries)
