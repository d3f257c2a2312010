"""The ``make up`` supervisor: runs a set of processes and restarts one that dies.

Each program runs in a session of its own (a Ctrl-C in the terminal reaches only the
supervisor), with its output merged into the supervisor's stdout, one line at a time,
prefixed with its name. A program that exits is started again after a capped exponential
backoff (:class:`Backoff`), and every exit is logged as one JSON line: which process, its
exit code, the attempt and the delay. The others run on untouched. SIGINT or SIGTERM stops
them all: SIGTERM to each, then, after ``stop_timeout`` seconds, SIGKILL to what is left;
programs marked ``stop_last`` (Redis) are stopped once the rest have exited. The supervisor
then exits 130 (SIGINT) or 143 (SIGTERM), as honcho did.

honcho, which ran ``make up`` before, stops every process when one exits, by design; the
loop here is small enough to own (no well-kept library restarts processes from Python
without a daemon and a configuration file of its own, as supervisord does).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

log = logging.getLogger(__name__)

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""The supervisor's exit status after each stop signal (128 + the signal's number)."""

_PR_SET_PDEATHSIG = 1
_libc: ctypes.CDLL | None = None


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM this process when its parent dies, even by kill -9.

    Call :func:`prepare_die_with_parent` in the parent first: loading libc after a fork
    could deadlock on a lock another thread of the parent held."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def prepare_die_with_parent() -> None:
    """Load libc for :func:`die_with_parent` (Linux; elsewhere children may outlive us)."""
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL("libc.so.6", use_errno=True)


@dataclass(frozen=True)
class Program:
    """One process of the set."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    """The whole environment of the process (the supervisor's own when ``None``)."""
    ready: Callable[[], bool] | None = None
    """At start-up the programs listed after this one wait until it answers true."""
    stop_last: bool = False
    """Stopped once every other program has exited (Redis, which they use as they stop)."""


@dataclass(frozen=True)
class Backoff:
    """The wait before restarting a program that exited.

    The n-th restart in a row waits ``first_s · 2^(n-1)`` seconds, at most ``cap_s``; a
    run of ``stable_s`` seconds or more counts as healthy, and the count starts again."""

    first_s: float = 0.5
    cap_s: float = 30.0
    stable_s: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds before restart number ``attempt`` (1, 2, …)."""
        return float(min(self.cap_s, self.first_s * 2 ** min(attempt - 1, 62)))


class RestartPlan:
    """Per program: when it started, how many restarts in a row, when the next one is due."""

    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self.started_at: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.due: dict[str, float] = {}

    def started(self, name: str, now: float) -> None:
        self.started_at[name] = now
        self.due.pop(name, None)

    def exited(self, name: str, now: float) -> tuple[int, float]:
        """Record an exit at ``now``: the attempt this restart is and its delay (seconds)."""
        ran = now - self.started_at.get(name, now)
        attempt = 1 if ran >= self.backoff.stable_s else self.attempts.get(name, 0) + 1
        self.attempts[name] = attempt
        delay = self.backoff.delay(attempt)
        self.due[name] = now + delay
        return attempt, delay

    def due_now(self, now: float) -> list[str]:
        return [name for name, at in self.due.items() if at <= now]

    def next_due(self) -> float | None:
        return min(self.due.values(), default=None)


class Supervisor:
    """Runs ``programs`` until SIGINT or SIGTERM; :meth:`run` returns the exit status."""

    def __init__(
        self,
        programs: Sequence[Program],
        *,
        backoff: Backoff | None = None,
        stop_timeout: float = 10.0,
        ready_timeout: float = 60.0,
        out: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        names = [p.name for p in programs]
        if len(set(names)) != len(names):
            raise ValueError(f"program names must be unique: {names}")
        self.programs = {p.name: p for p in programs}
        self.plan = RestartPlan(backoff or Backoff())
        self.stop_timeout = stop_timeout
        self.ready_timeout = ready_timeout
        self.out = out or sys.stdout
        self.clock = clock
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._pending = list(programs)  # not started yet, in order
        self._waiting_on: tuple[Program, float] | None = None  # a program not ready yet, since
        self._stop_signal: int | None = None
        self._signals = 0
        self._width = max((len(n) for n in [*names, "system"]), default=0)
        self._write_lock = threading.Lock()
        self._readers: list[threading.Thread] = []

    # -- the loop --------------------------------------------------------------------

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        previous = {s: signal.getsignal(s) for s in (*EXIT_CODES, signal.SIGCHLD)}
        old_fd = signal.set_wakeup_fd(wake_w)  # any signal below wakes the select()
        for signum in EXIT_CODES:
            signal.signal(signum, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a child exited: just wake up
        prepare_die_with_parent()
        try:
            status = self._loop(wake_r)
        finally:
            self._stop_all(wake_r)
            signal.set_wakeup_fd(old_fd)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(wake_r)
            os.close(wake_w)
            for reader in self._readers:
                reader.join(timeout=1.0)
        return status

    def _on_stop_signal(self, signum: int, _frame: object) -> None:
        self._signals += 1
        if self._stop_signal is None:
            self._stop_signal = signum

    def _loop(self, wake_r: int) -> int:
        while self._stop_signal is None:
            now = self.clock()
            self._reap(now)
            for name in self.plan.due_now(now):
                self._spawn(self.programs[name], now)
            if not self._start_pending(now):
                log.error("program not ready", extra={"program": self._gate_name()})
                return 1
            _wait(wake_r, self._timeout(now))
        return EXIT_CODES.get(signal.Signals(self._stop_signal), 1)

    def _timeout(self, now: float) -> float:
        if self._waiting_on is not None:
            return 0.1  # poll readiness
        due = self.plan.next_due()
        return 1.0 if due is None else max(0.0, min(1.0, due - now))

    def _gate_name(self) -> str | None:
        return self._waiting_on[0].name if self._waiting_on else None

    def _start_pending(self, now: float) -> bool:
        """Start the programs in order, each once the last one with ``ready`` answers.

        False when that program has not become ready within ``ready_timeout``."""
        while True:
            if self._waiting_on is not None:
                program, since = self._waiting_on
                if not _answers(program):
                    return now - since < self.ready_timeout
                log.info("program ready", extra={"program": program.name})
                self._waiting_on = None
            if not self._pending:
                return True
            program = self._pending.pop(0)
            self._spawn(program, now)
            if program.ready is not None:
                self._waiting_on = (program, now)

    def _reap(self, now: float) -> None:
        for name, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.procs[name]
            _kill_group(proc.pid)  # what it left behind (a pool's children) holds ports
            attempt, delay = self.plan.exited(name, now)
            extra = {"program": name, "pid": proc.pid, "exit_code": code, "attempt": attempt}
            if code < 0:
                extra["signal"] = signal.Signals(-code).name
            log.warning("process exited; restarting", extra={**extra, "delay_s": delay})
            self._say(f"{name} exited (rc={code}); restarting in {delay:g} s")

    def _spawn(self, program: Program, now: float) -> None:
        self.plan.started(program.name, now)
        try:
            proc = subprocess.Popen(
                list(program.argv),
                env=dict(program.env) if program.env is not None else None,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip
        except OSError as exc:  # its binary gone, say: try again later, as after an exit
            attempt, delay = self.plan.exited(program.name, now)
            extra = {"program": program.name, "error": str(exc), "attempt": attempt}
            log.error("process did not start; retrying", extra={**extra, "delay_s": delay})
            return
        self.procs[program.name] = proc
        attempt = self.plan.attempts.get(program.name, 0)
        log.info(
            "process started", extra={"program": program.name, "pid": proc.pid, "attempt": attempt}
        )
        self._say(f"{program.name} started (pid={proc.pid})")
        reader = threading.Thread(
            target=self._relay, args=(program.name, proc), name=f"out-{program.name}", daemon=True
        )
        reader.start()
        self._readers = [r for r in self._readers if r.is_alive()] + [reader]

    def _relay(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        """Copy the program's output to ours, each line prefixed with the time and its name."""
        assert proc.stdout is not None
        with proc.stdout:
            for raw in proc.stdout:  # read to the end even if we cannot write: it must not block
                self._write(name, raw.decode("utf-8", errors="replace").rstrip("\n"))

    def _say(self, line: str) -> None:
        """A line of the supervisor's own among the programs' output, as honcho wrote them."""
        self._write("system", line)

    def _write(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self._write_lock, contextlib.suppress(OSError, ValueError):  # output gone
            self.out.write(f"{stamp} {name:<{self._width}} | {line}\n")
            self.out.flush()

    # -- stopping --------------------------------------------------------------------

    def _stop_all(self, wake_r: int) -> None:
        self.plan.due.clear()  # no more restarts
        self._pending.clear()
        running = [n for n in self.programs if n in self.procs]  # in the order given
        first = [n for n in running if not self.programs[n].stop_last]
        last = [n for n in running if self.programs[n].stop_last]
        for names in (first, last):
            self._stop(names, wake_r)

    def _stop(self, names: list[str], wake_r: int) -> None:
        for name in names:
            log.info("stopping", extra={"program": name, "pid": self.procs[name].pid})
            with contextlib.suppress(ProcessLookupError):
                self.procs[name].terminate()
        deadline = self.clock() + self.stop_timeout
        while any(self.procs[n].poll() is None for n in names):
            if self.clock() >= deadline or self._signals > 1:
                break  # too slow, or a second Ctrl-C: kill what is left
            _wait(wake_r, 0.1)
        for name in names:
            proc = self.procs.pop(name)
            if proc.poll() is None:
                log.warning("killing", extra={"program": name, "pid": proc.pid})
            _kill_group(proc.pid)
            proc.wait()
            log.info("process stopped", extra={"program": name, "exit_code": proc.returncode})
            self._say(f"{name} stopped (rc={proc.returncode})")


def _answers(program: Program) -> bool:
    try:
        return program.ready is None or program.ready()
    except Exception:  # a readiness probe that fails is a "not yet"
        return False


def _wait(wake_r: int, timeout: float) -> None:
    """Sleep up to ``timeout`` seconds, or until a signal arrives."""
    with contextlib.suppress(InterruptedError):
        readable, _, _ = select.select([wake_r], [], [], timeout)
        if readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)


def _kill_group(pgid: int) -> None:
    """SIGKILL every process left in the session a program started (its leader has exited
    or failed to stop in time)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
