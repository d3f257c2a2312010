"""The gateway's stop on SIGTERM, on a real eventlet server in a child process
(``stopping_server.py``): the signal is never lost, open connections are closed
first, and a connection that will not end cannot keep the process up."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port, wait_until

SERVER = Path(__file__).with_name("stopping_server.py")


class Server:
    def __init__(self, mode: str, log_dir: Path) -> None:
        self.stderr = log_dir / f"{mode}.stderr"
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        with self.stderr.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(SERVER), port, mode],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.held: list[str] = []

    def get(self, path: str = "/") -> str:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return str(resp.read().decode())

    def serving(self) -> bool:
        try:
            return self.get() == "ok"
        except OSError:
            return False

    def hold(self) -> threading.Thread:
        """A request that lasts until the server disconnects its clients, as a websocket."""

        def run() -> None:
            try:
                self.held.append(self.get("/hold"))
            except OSError as exc:
                self.held.append(type(exc).__name__)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def dump(self) -> str:
        """Ask for SIGUSR1's stacks of every green thread; stderr so far."""
        self.proc.send_signal(signal.SIGUSR1)
        assert self.serving()  # the dump does not stop the server
        return self.stderr.read_text()

    def finish(self, timeout: float = 10.0) -> tuple[int, str, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, self.stderr.read_text()


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    srv = Server(request.param, tmp_path)
    try:
        yield srv
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.communicate(timeout=10)


@pytest.mark.parametrize("server", ["swallow"], indirect=True)
def test_a_signal_handled_inside_a_catch_all_still_stops_the_server(server: Server) -> None:
    # Raising SystemExit from the handler (Flask-SocketIO's stop()) lost the stop here.
    rc, out, err = server.finish()
    assert rc == 0, err
    assert out.splitlines() == ["serving", "signalled", "gateway stopped", "server returned"]


@pytest.mark.parametrize("server", ["plain"], indirect=True)
def test_sigterm_closes_open_connections_then_exits_cleanly(server: Server) -> None:
    assert wait_until(server.serving, 10)
    held = server.hold()
    assert wait_until(lambda: "in app" in server.dump(), 5)  # the request is being held
    server.proc.send_signal(signal.SIGTERM)
    rc, out, err = server.finish()
    assert rc == 0, err
    assert out.splitlines() == ["serving", "gateway stopped", "server returned"]
    held.join(5)
    assert server.held == ["ok"]  # released by the disconnect, answered, then the server ended
    assert not server.serving()


@pytest.mark.parametrize("server", ["hold-forever"], indirect=True)
def test_a_connection_that_never_ends_is_given_up_after_the_grace(server: Server) -> None:
    assert wait_until(server.serving, 10)
    server.hold()
    assert wait_until(lambda: "in app" in server.dump(), 5)
    server.proc.send_signal(signal.SIGINT)
    rc, out, err = server.finish()
    assert rc == 1
    assert out.splitlines() == ["serving", "gateway stopped"]
    assert "connections still open after the stop grace; exiting" in err
    assert "released.wait()" in err  # the stacks say what held it
