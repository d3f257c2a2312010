"""One chaos session: the stack started, the feed recorded, the probes connected."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from common.latest import LatestReader
from tests.chaos.feed import SteadyFeed, record
from tests.chaos.probes import EnrichedCollector, SocketProbe
from tests.chaos.scenarios import Probes
from tests.chaos.stack import ChaosStack

ROOM_PRODUCT = "NIFTY"


def _post(url: str, body: dict[str, str]) -> dict[str, object]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as err:
        return {"status": err.code}


class Tokens:
    """Access tokens from the real auth_service, for a user registered on first use: the
    same one until half its life (``expires_in``) has passed, then a new login (a token
    lives 15 minutes; a long bench outlives several)."""

    def __init__(self, auth_url: str) -> None:
        self.auth_url = auth_url
        self.credentials = {"username": "chaos", "password": "correct-horse-1"}
        _post(f"{auth_url}/auth/register", self.credentials)
        self._token, self._renew_at = "", 0.0

    def __call__(self) -> str:
        if time.monotonic() >= self._renew_at:
            pair = _post(f"{self.auth_url}/auth/login", self.credentials)
            if "access_token" in pair:  # else (auth_service down) the old one, as a browser
                self._token = str(pair["access_token"])
                lifetime = float(pair.get("expires_in", 60))  # type: ignore[arg-type]
                self._renew_at = time.monotonic() + lifetime / 2
        return self._token


@contextlib.contextmanager
def chaos_session(
    workdir: Path, *, rate: int = 2000, record_s: float = 10.0, env: dict[str, str] | None = None
) -> Iterator[Probes]:
    """Everything a scenario needs, torn down on exit (the supervisor stopped as Ctrl-C
    stops ``make up``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    capture = workdir / "feed.jsonl.gz"
    stack = ChaosStack(workdir, env)
    recorder = record(capture, record_s, rate)  # while the stack starts
    enriched: EnrichedCollector | None = None
    probe: SocketProbe | None = None
    try:
        stack.start()
        assert recorder.wait(120) == 0, "recording the feed failed"
        feed = SteadyFeed(capture, stack.redis_url)
        enriched = EnrichedCollector(stack.redis_url)
        room = _warm_up(stack, feed)
        tokens = Tokens(stack.urls["auth"])
        assert tokens(), "no access token from auth_service"
        probe = SocketProbe(stack.urls["socket"], tokens, room)
        deadline = time.monotonic() + 30
        while not probe.events.chains and time.monotonic() < deadline:
            time.sleep(0.05)
        assert probe.events.chains, "the Socket.IO client got no snapshot"
        yield Probes(stack, feed, enriched, probe)
    finally:
        if probe is not None:
            probe.close()
        if enriched is not None:
            enriched.close()
        if recorder.poll() is None:
            recorder.kill()
        stack.close()


def _warm_up(stack: ChaosStack, feed: SteadyFeed) -> tuple[str, str]:
    """A second of feed, so the pipeline has run once and a chain of ``NIFTY`` is cached
    for the Socket.IO client's room; that room."""
    client = stack.redis()
    feed.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            expiries = LatestReader(client).expiries(ROOM_PRODUCT)
            if expiries and feed.sent.messages >= feed.rate:
                return ROOM_PRODUCT, sorted(expiries)[0]
            time.sleep(0.1)
        raise AssertionError(f"no {ROOM_PRODUCT} chain cached in 60 s:\n{stack.tail()}")
    finally:
        feed.stop()
        client.close()
