"""Capture files: record, read back, and refuse what is not a capture."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from common.names import Channel
from feed_generator.capture import (
    CaptureError,
    CaptureWriter,
    check_capture,
    encode_message,
    read_capture,
)
from feed_generator.market import Market
from feed_generator.products import resolve_products
from feed_generator.publisher import CaptureSink
from feed_generator.runner import encode

START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


def test_round_trip_gives_back_every_message(tmp_path: Path) -> None:
    messages = Market(1, START, resolve_products(["NIFTY", "TCS"])).advance(5.0)
    path = tmp_path / "capture.jsonl.gz"
    with CaptureWriter(path) as writer:
        CaptureSink(writer).send(encode(messages))
    records = list(read_capture(path))
    assert len(records) == len(messages)
    for record, message in zip(records, messages, strict=True):
        assert record.channel is message.channel
        assert record.message == json.loads(json.dumps(message.payload))
        assert record.offset == pytest.approx(message.offset, abs=1e-6)
        assert encode_message(record.message) == encode_message(message.payload)


def test_lines_are_gzip_json_with_channel_message_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    with CaptureWriter(path) as writer:
        writer.write(0.25, "market:underlying", '{"a":1}')
    line = gzip.decompress(path.read_bytes()).decode()
    assert json.loads(line) == {"t": 0.25, "channel": "market:underlying", "message": {"a": 1}}
    assert line.endswith("\n")


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    return path


GOOD = '{"t": 0.0, "channel": "market:underlying", "message": {}}'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ('{"t": 0, "channel": "market:underlying"}', "expected an object"),
        ('{"t": "x", "channel": "market:underlying", "message": {}}', "t must be"),
        ('{"t": 1, "channel": "enriched:underlying", "message": {}}', "unknown channel"),
        ('{"t": 1, "channel": "market:underlying", "message": []}', "message must be"),
        ('{"t": -1, "channel": "market:underlying", "message": {}}', "backwards"),
    ],
)
def test_bad_lines_are_reported_with_their_line_number(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = _write_lines(tmp_path / "bad.jsonl.gz", [GOOD, line])
    check_capture(path)  # the first line is fine
    with pytest.raises(CaptureError, match=rf"bad.jsonl.gz:2: .*{reason}"):
        list(read_capture(path))


def test_files_that_are_not_captures_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text(GOOD)
    with pytest.raises(CaptureError, match="Not a gzipped file"):
        check_capture(plain)
    with pytest.raises(CaptureError, match="No such file"):
        check_capture(tmp_path / "missing.gz")
    with pytest.raises(CaptureError, match="empty"):
        check_capture(_write_lines(tmp_path / "empty.gz", []))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(gzip.compress((GOOD + "\n").encode() * 1000)[:-30])
    with pytest.raises(CaptureError, match="cannot read capture"):
        list(read_capture(truncated))


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "blank.gz", [GOOD, "", GOOD])
    assert [r.channel for r in read_capture(path)] == [Channel.MARKET_UNDERLYING] * 2
