"""Real OptionsFlow processes for tests: started in their own process groups, logs in files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from common.embedded_redis import free_port, free_ports

__all__ = ["ProcessSet", "free_port", "free_ports", "healthy", "wait_until"]

PYTHON = sys.executable


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


class ProcessSet:
    """Named processes with their output in ``log_dir/{name}.log``; stopped on :meth:`close`."""

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(
        self, name: str, argv: list[str], *, ready: str | None = None, timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:  # fmt: skip
        """Start ``argv``; with ``ready``, wait until that text appears in its log."""
        with open(self.log_dir / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**self.env, **(env or {})}, start_new_session=True,
            )  # fmt: skip
        self.procs[name] = proc
        if ready is not None and not wait_until(
            lambda: ready in self.log(name) or proc.poll() is not None, timeout
        ):
            raise AssertionError(f"{name} not ready after {timeout} s:\n{self.log(name)[-3000:]}")
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")
        return proc

    def worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        """A real Celery worker on the ``enrich`` queue."""
        argv = [
            PYTHON, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
            "--queues", "enrich", "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
        ]  # fmt: skip
        return self.start(name, argv, ready=" ready.")

    def subscriber(self, name: str = "subscriber") -> subprocess.Popen[bytes]:
        return self.start(name, [PYTHON, "-m", "worker_enricher.subscriber"], ready="subscribed")

    def feed(self, *args: str, name: str = "feed") -> subprocess.Popen[bytes]:
        return self.start(name, [PYTHON, "-m", "feed_generator", "--progress-interval", "0", *args])

    def service(
        self, package: str, port: int, *, name: str | None = None, workers: int = 1,
        env: Mapping[str, str] | None = None, timeout: float = 60.0,
    ) -> str:  # fmt: skip
        """Serve ``{package}.wsgi:app`` with gunicorn on 127.0.0.1:``port``; its base URL.

        Returns once ``/healthz`` answers 200.
        """
        url = f"http://127.0.0.1:{port}"
        argv = [
            PYTHON, "-m", "gunicorn", "-c", "python:common.gunicorn_conf",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), f"{package}.wsgi:app",
        ]  # fmt: skip
        label = name or package
        proc = self.start(label, argv, env={"SERVICE_NAME": package, **(env or {})})
        up = wait_until(lambda: healthy(url) or proc.poll() is not None, timeout)
        if not up or proc.poll() is not None:
            tail = self.log(label)[-3000:]
            raise AssertionError(f"{label} not healthy (rc {proc.poll()}) in {timeout} s:\n{tail}")
        return url

    def socket_gateway(
        self, port: int, *, name: str = "socket_gateway", env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> str:  # fmt: skip
        """``python -m socket_gateway`` on 127.0.0.1:``port``; its URL once ``/healthz`` is 200."""
        url = f"http://127.0.0.1:{port}"
        proc = self.start(name, [PYTHON, "-m", "socket_gateway", "--port", str(port)], env=env)
        up = wait_until(lambda: healthy(url) or proc.poll() is not None, timeout)
        if not up or proc.poll() is not None:
            tail = self.log(name)[-3000:]
            raise AssertionError(f"{name} not healthy (rc {proc.poll()}) in {timeout} s:\n{tail}")
        return url

    def wait(self, name: str, timeout: float) -> int:
        """``name``'s exit status; an assertion with the tail of its log if it is still up."""
        try:
            return self.procs[name].wait(timeout)
        except subprocess.TimeoutExpired:
            tail = self.log(name)[-4000:]
            raise AssertionError(f"{name} still running after {timeout} s:\n{tail}") from None

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the whole process group of ``name`` (a Celery worker and its pool)."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        if sig is signal.SIGKILL:
            proc.wait(10)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(name)
        for proc in self.procs.values():  # the pool of a worker stopped warm
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
