"""Unauthenticated Engine.IO sessions held against the Socket.IO gateway: what they cost it.

Run: ``.venv/bin/python bench/socket_sessions.py --sessions 1000 --hold 15``.

Starts a private redis-server and one socket_gateway process (default settings; no
auth_service is needed: no client ever authenticates), opens ``--sessions`` websocket
Engine.IO handshakes from 127.0.0.1 without ever sending a Socket.IO ``connect``, and
prints one JSON object: handshakes accepted and refused, the gateway's RSS (kB) and open
file descriptors idle, one second after the handshakes, and ``--hold`` seconds later, and
how many of the held sessions the gateway had not closed by then (issue 16: sessions are
counted from the handshake and closed after ``SOCKET_AUTH_TIMEOUT_S``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

from common.embedded_redis import EmbeddedRedis, free_port


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000, help="handshakes to hold")
    parser.add_argument("--hold", type=float, default=15.0, help="seconds to hold them")
    args = parser.parse_args()
    n, hold_s = args.sessions, args.hold
    tmp = tempfile.mkdtemp()
    with EmbeddedRedis() as redis:
        port = free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis.url,
            "VAR_DIR": tmp,
            "LOG_LEVEL": "WARNING",
            "AUTH_SERVICE_URL": "http://127.0.0.1:9",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "socket_gateway", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.2)
            time.sleep(1.0)
            base = (rss_kb(proc.pid), fds(proc.pid))
            held, refused = [], 0
            for _ in range(n):
                try:
                    ws = websocket.create_connection(
                        f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", timeout=5
                    )
                    ws.recv()
                    held.append(ws)
                except websocket.WebSocketBadStatusException:
                    refused += 1
            time.sleep(1.0)
            loaded = (rss_kb(proc.pid), fds(proc.pid))
            time.sleep(hold_s)
            later = (rss_kb(proc.pid), fds(proc.pid))
            open_after = 0
            for ws in held:
                ws.settimeout(0.2)
                try:
                    while True:
                        frame = ws.recv()
                        if frame in ("1", ""):
                            break
                except websocket.WebSocketTimeoutException:
                    open_after += 1
                except Exception:
                    pass
                ws.close()
            print(
                json.dumps(
                    {
                        "handshakes": n,
                        "accepted": len(held),
                        "refused": refused,
                        "rss_kb_idle": base[0],
                        "fds_idle": base[1],
                        "rss_kb_held": loaded[0],
                        "fds_held": loaded[1],
                        f"rss_kb_after_{hold_s:g}s": later[0],
                        f"fds_after_{hold_s:g}s": later[1],
                        f"still_open_after_{hold_s:g}s": open_after,
                    }
                )
            )
        finally:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
