"""Replaying a capture publishes the recorded messages."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

import feed_generator.cli
from common.timestamps import parse_ts
from feed_generator.capture import encode_message, read_capture
from feed_generator.cli import main
from feed_generator.runner import run_replay
from tests.support.clock import FakeClock

pytestmark = pytest.mark.redis

BATCH_S = 0.01
"""The replay's ``batch_interval``: a message due within it goes out with the batch before."""


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("captures") / "feed.jsonl.gz"
    args = ["--no-publish", "--duration", "4", "--record", str(path), "--seed", "5"]
    assert main([*args, "--start", "2026-11-23T04:00:00Z", "--products", "NIFTY,RELIANCE"]) == 0
    return path


def _recorded(path: Path) -> list[tuple[str, str]]:
    return [(r.channel.value, encode_message(r.message)) for r in read_capture(path)]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The replay's clock: its pace is measured on this, not on the machine's."""
    fake = FakeClock()
    paced = functools.partial(run_replay, clock=fake, sleep=fake.sleep)
    monkeypatch.setattr(feed_generator.cli, "run_replay", paced)
    return fake


def test_replay_at_max_speed_publishes_the_same_messages(
    redis_url: str, collector: Any, check_stream: Any, capture: Path, clock: FakeClock
) -> None:
    assert main(["--replay", str(capture), "--speed", "max", "--redis-url", redis_url]) == 0
    assert clock.sleeps == []  # it never waited
    raw = collector.stop()
    assert raw == _recorded(capture)
    check_stream(raw)


def test_replay_at_speed_keeps_the_scaled_pace(
    redis_url: str, collector: Any, capture: Path, clock: FakeClock
) -> None:
    assert main(["--replay", str(capture), "--speed", "4", "--redis-url", redis_url]) == 0
    offsets = [r.offset for r in read_capture(capture)]
    span = offsets[-1] - offsets[0]  # about four seconds of capture, at four times
    assert span > 3.5
    assert span / 4 - BATCH_S <= clock.elapsed <= span / 4 + BATCH_S
    assert collector.stop() == _recorded(capture)


def test_restamped_replay_carries_current_timestamps(
    redis_url: str, collector: Any, check_stream: Any, capture: Path
) -> None:
    args = ["--replay", str(capture), "--speed", "max", "--restamp"]
    before = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=1)  # stamps keep milliseconds
    assert main([*args, "--redis-url", redis_url]) == 0
    after = dt.datetime.now(dt.UTC)
    raw = collector.stop()
    check_stream(raw)
    recorded = _recorded(capture)
    assert len(raw) == len(recorded)
    for (_, data), (_, original) in zip(raw, recorded, strict=True):
        message, before_restamp = json.loads(data), json.loads(original)
        assert before <= parse_ts(message["timestamp"]) <= after  # stamped when sent
        assert {**message, "timestamp": None} == {**before_restamp, "timestamp": None}


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
