"""The synthetic feed, run as a real process, publishes its health to Redis: live with its
products while it runs, down after a clean stop (read through common/feeds.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from common.feeds import FeedReader, FeedState
from tests.support.processes import wait_until

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[3]


def test_the_synthetic_feeds_health_reaches_redis(
    redis_client: redis.Redis, redis_url: str
) -> None:
    reader = FeedReader(redis_client)
    proc = subprocess.Popen(
        [sys.executable, "-m", "feed_generator", "--redis-url", redis_url, "--seed", "3",
         "--products", "NIFTY,BANKNIFTY"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )  # fmt: skip

    def live_with_messages() -> bool:
        feeds = reader.statuses().feeds
        return bool(feeds) and feeds[0].state is FeedState.LIVE and feeds[0].messages > 0

    try:
        # the first snapshot is written at once, the next ones every HEALTH_INTERVAL_S
        assert wait_until(live_with_messages, timeout=20.0), "no live health in Redis"
        (feed,) = reader.statuses().feeds
        assert (feed.venue, feed.session, feed.stale) == ("synthetic", "simulated", False)
        assert [p.product for p in feed.products] == ["BANKNIFTY", "NIFTY"]
        assert all(p.messages > 0 for p in feed.products)
        assert feed.reconnects == feed.resyncs == feed.dead_letters == 0
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    (feed,) = reader.statuses().feeds  # the last snapshot, written at the stop
    assert feed.state is FeedState.DOWN
