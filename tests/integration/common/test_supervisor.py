"""The supervisor with real processes: a killed one is restarted, the others run on, and
SIGINT/SIGTERM stop them all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from common.embedded_redis import free_port, ping
from common.redis_client import make_redis
from tests.support.processes import wait_until

CHILD = "import os, time; print('up', os.getpid(), flush=True); time.sleep(600)"
"""A tiny long-running program: says its pid, then waits to be stopped."""

CRASHER = "import sys; print('failing', flush=True); sys.exit(3)"
"""A program that exits at once, every time."""


def supervisor_script(programs: dict[str, str], setup: str = "") -> str:
    """A supervisor of ``programs`` (name → Python code; ``setup`` may change the list),
    logging JSON to stderr, with a short backoff (0.2 s, doubling up to 1.6 s) so the test
    sees several restarts."""
    return "\n".join(
        [
            "import sys",
            "from pathlib import Path",
            "from common.jsonlog import configure_logging",
            "from common.supervisor import Backoff, Program, Supervisor",
            "configure_logging('devstack')",
            f"programs = [Program(n, [sys.executable, '-c', c]) for n, c in {programs!r}.items()]",
            setup,
            "backoff = Backoff(first_s=0.2, cap_s=1.6, stable_s=60.0)",
            "sys.exit(Supervisor(programs, backoff=backoff, stop_timeout=5.0).run())",
        ]
    )


@dataclass
class Running:
    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def records(self, message: str, program: str | None = None) -> list[dict[str, Any]]:
        """The supervisor's JSON log records with ``message`` (for ``program``), in order."""
        found = []
        for line in list(self.err):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("message") == message and program in (None, record.get("program")):
                found.append(record)
        return found

    def pids(self, program: str) -> list[int]:
        return [r["pid"] for r in self.records("process started", program)]

    def said(self, name: str) -> list[str]:
        """What ``name`` wrote to the supervisor's stdout (``HH:MM:SS name | text`` lines);
        ``system``: the supervisor's own lines."""
        found = []
        for line in list(self.out):
            prefix, _, text = line.rstrip("\n").partition(" | ")
            if prefix.split(" ", 1)[-1].strip() == name:
                found.append(text)
        return found


def _drain(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line)


@pytest.fixture
def start() -> Iterator[Any]:
    started: list[Running] = []

    def run(programs: dict[str, str], setup: str = "") -> Running:
        proc = subprocess.Popen(
            [sys.executable, "-c", supervisor_script(programs, setup)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        running = Running(proc)
        for stream, into in ((proc.stdout, running.out), (proc.stderr, running.err)):
            reader = threading.Thread(target=_drain, args=(stream, into), daemon=True)
            reader.start()
            running.readers.append(reader)
        started.append(running)
        return running

    yield run
    for running in started:
        if running.proc.poll() is None:  # a failed test: SIGKILL, and its children after it
            running.proc.kill()
            running.proc.wait(10)
            for pid in {p for name in ("a", "b", "redis") for p in running.pids(name)}:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        for reader in running.readers:
            reader.join(10)
        for stream in (running.proc.stdout, running.proc.stderr):
            if stream is not None:
                stream.close()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_process_is_restarted_and_the_others_run_on(start: Any) -> None:
    sup = start({"a": CHILD, "b": CHILD})
    assert wait_until(lambda: len(sup.pids("a")) == 1 == len(sup.pids("b")), 30), sup.err
    (a1,), (b1,) = sup.pids("a"), sup.pids("b")
    # Their output reaches the supervisor's stdout, one line each, prefixed with the name.
    assert wait_until(lambda: f"up {a1}" in sup.said("a"), 30), sup.out
    assert wait_until(lambda: f"up {b1}" in sup.said("b"), 30), sup.out

    os.kill(a1, signal.SIGKILL)
    assert wait_until(lambda: len(sup.pids("a")) == 2, 30), sup.err
    (exited,) = sup.records("process exited; restarting", "a")
    assert {k: exited[k] for k in ("pid", "exit_code", "signal", "attempt", "delay_s")} == {
        "pid": a1, "exit_code": -9, "signal": "SIGKILL", "attempt": 1, "delay_s": 0.2,
    }  # fmt: skip
    a2 = sup.pids("a")[1]
    assert a2 != a1
    assert wait_until(lambda: f"up {a2}" in sup.said("a"), 30), sup.out
    assert alive(a2)
    assert alive(b1)  # untouched
    assert sup.pids("b") == [b1]
    assert sup.records("process exited; restarting", "b") == []

    sup.proc.send_signal(signal.SIGTERM)
    assert sup.proc.wait(30) == 143
    assert not alive(a2)
    assert not alive(b1)
    stopped = {r["program"]: r["exit_code"] for r in sup.records("process stopped")}
    assert stopped == {"a": -15, "b": -15}  # each stopped by the SIGTERM sent to it
    # The same events for the eye, among the programs' output, as honcho printed them.
    assert sup.said("system") == [
        f"a started (pid={a1})", f"b started (pid={b1})",
        "a exited (rc=-9); restarting in 0.2 s", f"a started (pid={a2})",
        "a stopped (rc=-15)", "b stopped (rc=-15)",
    ]  # fmt: skip


def test_a_process_that_keeps_dying_is_retried_with_growing_delays(start: Any) -> None:
    sup = start({"a": CHILD, "crasher": CRASHER})
    assert wait_until(lambda: len(sup.records("process exited; restarting", "crasher")) >= 5, 60)
    exits = sup.records("process exited; restarting", "crasher")[:5]
    assert [(r["exit_code"], r["attempt"], r["delay_s"]) for r in exits] == [
        (3, 1, 0.2), (3, 2, 0.4), (3, 3, 0.8), (3, 4, 1.6), (3, 5, 1.6),
    ]  # fmt: skip
    assert len(sup.pids("a")) == 1  # the healthy one was never touched
    sup.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert sup.proc.wait(30) == 130
    assert not alive(sup.pids("a")[0])


def test_the_embedded_redis_is_restarted_on_its_port_and_data(start: Any, tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "redis"
    data_dir.mkdir()  # make up's lock creates it
    sup = start(
        {"b": CHILD},
        setup=f"from common.devstack import redis_program\n"
        f"programs.insert(0, redis_program({port}, Path({str(data_dir)!r})))",
    )
    assert wait_until(lambda: len(sup.pids("redis")) == 1 == len(sup.pids("b")), 30), sup.err
    (redis1,), (b1,) = sup.pids("redis"), sup.pids("b")
    assert [r["program"] for r in sup.records("program ready")] == ["redis"]
    url = f"redis://127.0.0.1:{port}/0"
    client = make_redis(url)
    client.set("survivor", "1")
    aof = data_dir / "appendonly.aof"
    assert wait_until(lambda: aof.exists() and b"survivor" in aof.read_bytes(), 10)
    client.close()

    os.kill(redis1, signal.SIGKILL)
    assert wait_until(lambda: len(sup.pids("redis")) == 2, 30), sup.err
    assert wait_until(lambda: ping(port), 30)  # the same port: every REDIS_URL still holds
    client = make_redis(url)
    assert client.get("survivor") == b"1"
    client.close()
    assert sup.pids("b") == [b1]
    assert alive(b1)

    sup.proc.send_signal(signal.SIGTERM)
    assert sup.proc.wait(30) == 143
    stopped = [r["program"] for r in sup.records("process stopped")]
    assert stopped == ["b", "redis"]  # Redis last, once the others are gone
    assert not ping(port)
