"""Replaying a capture publishes the recorded messages."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from common.timestamps import parse_ts
from feed_generator.capture import encode_message, read_capture
from feed_generator.cli import main

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("captures") / "feed.jsonl.gz"
    args = ["--no-publish", "--duration", "4", "--record", str(path), "--seed", "5"]
    assert main([*args, "--start", "2026-11-23T04:00:00Z", "--products", "NIFTY,RELIANCE"]) == 0
    return path


def _recorded(path: Path) -> list[tuple[str, str]]:
    return [(r.channel.value, encode_message(r.message)) for r in read_capture(path)]


def test_replay_at_max_speed_publishes_the_same_messages(
    redis_url: str, collector: Any, check_stream: Any, capture: Path
) -> None:
    began = time.monotonic()
    assert main(["--replay", str(capture), "--speed", "max", "--redis-url", redis_url]) == 0
    assert time.monotonic() - began < 2.0
    raw = collector.stop()
    assert raw == _recorded(capture)
    check_stream(raw)


def test_replay_at_speed_keeps_the_scaled_pace(
    redis_url: str, collector: Any, capture: Path
) -> None:
    began = time.monotonic()
    assert main(["--replay", str(capture), "--speed", "4", "--redis-url", redis_url]) == 0
    assert 0.9 < time.monotonic() - began < 3.0  # four seconds of capture at four times
    assert collector.stop() == _recorded(capture)


def test_restamped_replay_carries_current_timestamps(
    redis_url: str, collector: Any, check_stream: Any, capture: Path
) -> None:
    args = ["--replay", str(capture), "--speed", "max", "--restamp"]
    assert main([*args, "--redis-url", redis_url]) == 0
    raw = collector.stop()
    check_stream(raw)
    now = dt.datetime.now(dt.UTC)
    recorded = _recorded(capture)
    assert len(raw) == len(recorded)
    for (_, data), (_, original) in zip(raw, recorded, strict=True):
        message, before = json.loads(data), json.loads(original)
        assert abs((now - parse_ts(message["timestamp"])).total_seconds()) < 10.0
        assert {**message, "timestamp": None} == {**before, "timestamp": None}


def _broken_midway(capture: Path, target: Path, how: str) -> int:
    """A copy of ``capture`` whose first half is intact; the number of intact records."""
    lines = gzip.decompress(capture.read_bytes()).splitlines(keepends=True)
    half = lines[: len(lines) // 2]
    if how == "bad line":
        target.write_bytes(gzip.compress(b"".join([*half, b"not json\n", *lines[len(half) :]])))
        return len(half)
    whole = gzip.compress(b"".join(lines))
    target.write_bytes(whole[: len(whole) // 2])  # cut: the gzip stream ends early
    return -1


@pytest.mark.parametrize("how", ["bad line", "truncated"])
def test_a_capture_error_midway_fails_the_replay_with_exit_1(
    redis_url: str,
    collector: Any,
    capture: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    broken = tmp_path / "broken.jsonl.gz"
    intact = _broken_midway(capture, broken, how)
    assert main(["--replay", str(broken), "--speed", "max", "--redis-url", redis_url]) == 1
    raw = collector.stop()
    recorded = _recorded(capture)
    assert 0 < len(raw) < len(recorded)
    assert raw == recorded[: len(raw)]  # what came before the error was published as recorded
    if intact >= 0:
        assert len(raw) == intact
    err = capsys.readouterr().err
    assert '"message": "replay failed"' in err
    assert "Traceback" not in err
