"""``make up``'s process set (``python -m common.devstack``) on free ports, shared by the
end-to-end tests of one module; its output is drained continuously, so a long test never
blocks it on a full pipe.

The stack runs both venues, ``FEED_VENUES=synthetic,deribit``, its Deribit connector pointed
at a local Deribit simulator that the fixture starts first: small (2 expiries, 3 strikes a
side, 56 options, a ticker round every 0.5 s), as the tests check what the dashboard shows,
not throughput, on a machine of 2 cores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from common.embedded_redis import free_ports
from common.settings import with_redis_password
from common.web.servicecred import SERVICE_TOKEN_HEADER
from tests.support.deribit_sim import deribit_settings, start_deribit_sim
from tests.support.processes import ProcessSet

PORT_VARIABLES = (
    "API_GATEWAY_PORT", "AUTH_SERVICE_PORT", "STORAGE_SERVICE_PORT", "ANALYTICS_SERVICE_PORT",
    "SOCKET_GATEWAY_PORT", "LOGGING_SERVICE_PORT", "ALERT_SERVICE_PORT", "PAPER_SERVICE_PORT",
    "FLOWER_PORT",
)  # fmt: skip


SIMULATOR_ARGS = ("--strikes-per-side", "3", "--expiries", "2", "--interval", "0.5")
"""The Deribit simulator's size and pace: BTC and ETH, 2 expiries of 7 strikes, calls and puts."""


@dataclass
class DeribitSimulator:
    """The simulator process, and the settings of a stack whose ``deribit`` venue uses it."""

    procs: ProcessSet
    settings: dict[str, str]

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, as ``make up`` stops it; its exit status."""
        self.procs.kill("deribit-sim", signal.SIGTERM)
        return self.procs.wait("deribit-sim", timeout)


def start_deribit_simulator(procs: ProcessSet) -> DeribitSimulator:
    """The simulator on a free port, ready (its paths: ``feed_generator/venues/deribit/sim/
    server.py``)."""
    port = start_deribit_sim(procs, SIMULATOR_ARGS, name="deribit-sim")
    settings = {"FEED_VENUES": "synthetic,deribit", **deribit_settings(port)}
    return DeribitSimulator(procs, settings)


@dataclass
class Devstack:
    proc: subprocess.Popen[str]
    ports: dict[str, int]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)
    """The threads draining stdout and stderr; they end at the pipes' end."""
    var_dir: Path | None = None
    """Its ``VAR_DIR``: the secrets it generated are under ``secrets/``."""

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_GATEWAY_PORT']}"

    @property
    def logging(self) -> str:
        return f"http://127.0.0.1:{self.ports['LOGGING_SERVICE_PORT']}"

    def redis_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.err):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if "redis_url" in record:
                    assert record["service"] == "devstack"
                    # The URL is logged without its password, which stays in a 0600 file.
                    password = Path(record["redis_password_file"]).read_text().strip()
                    return str(with_redis_password(record["redis_url"], password))
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("devstack never logged its embedded Redis URL")

    def read_logs(self, query: str) -> Any:
        """``GET /logs?{query}`` from logging_service as the gateway asks it for an admin:
        with the service credential ``make up`` generated (issue 16: nobody else may)."""
        assert self.var_dir is not None
        token = (self.var_dir / "secrets" / "service_token").read_text().strip()
        req = urllib.request.Request(
            f"{self.logging}/logs?{query}",
            headers={SERVICE_TOKEN_HEADER: token, "X-User-Role": "admin"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def interrupt(self, timeout: float = 30) -> tuple[int, str]:
        """Ctrl-C: the return code and everything printed."""
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout)
        for reader in self.readers:  # the last lines are in once the pipes have ended
            reader.join(timeout)
        assert not any(r.is_alive() for r in self.readers), "devstack's output never ended"
        return rc, "".join(self.out)


def _wait_ready(stack: Devstack, timeout: float = 120) -> None:
    """Until the gateway (with the services behind it) and the log collector answer ready, so
    no test meets a stack still starting (a Ctrl-C then, or a refused first request)."""
    urls = (stack.gateway + "/readyz", stack.logging + "/readyz")
    deadline = time.monotonic() + timeout
    while True:
        try:
            for url in urls:
                with urllib.request.urlopen(url, timeout=5):
                    pass
            return
        except OSError:  # refused, or 503 while a dependency starts (HTTPError is one)
            if stack.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"make up's stack never became ready: {''.join(stack.err)[-4000:]}"
                ) from None
            time.sleep(0.25)


def _drain(stream: object, into: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.append(line)


@pytest.fixture(scope="module")
def deribit_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeribitSimulator]:
    """A running Deribit simulator, and the settings of a stack that connects to it."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    procs = ProcessSet(tmp_path_factory.mktemp("deribit-sim"), env)
    try:
        yield start_deribit_simulator(procs)
    finally:
        procs.close()


@pytest.fixture(scope="module")
def devstack(
    tmp_path_factory: pytest.TempPathFactory, deribit_simulator: DeribitSimulator
) -> Iterator[Devstack]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["VAR_DIR"] = str(tmp_path_factory.mktemp("devstack"))
    env.update(deribit_simulator.settings)
    ports = dict(zip(PORT_VARIABLES, free_ports(len(PORT_VARIABLES)), strict=True))
    env.update({name: str(port) for name, port in ports.items()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "common.devstack"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    stack = Devstack(proc, ports, var_dir=Path(env["VAR_DIR"]))
    readers = stack.readers = [
        threading.Thread(target=_drain, args=(stream, into), daemon=True)
        for stream, into in ((proc.stdout, stack.out), (proc.stderr, stack.err))
    ]
    for reader in readers:
        reader.start()
    try:
        _wait_ready(stack)
        yield stack
    finally:
        if proc.poll() is None:  # Ctrl-C: the supervisor starts each child in a session of its own,
            proc.send_signal(signal.SIGINT)  # so only it can stop them all
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for reader in readers:
            reader.join(5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
"""Screenshots of the browser tests (kept after the run, ignored by git)."""
