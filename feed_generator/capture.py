"""Captures: gzip-compressed JSON lines ``{"t": offset, "channel": ..., "message": {...}}``.

``t`` is the message's offset in seconds from the start of the recording (the
simulated clock of the market that produced it), so a replay can keep the
recorded pace. Lines are in publication order and ``t`` never decreases.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from common.names import MARKET_CHANNELS, Channel

_CHANNELS = {c.value: c for c in MARKET_CHANNELS}


class CaptureError(ValueError):
    """A capture file cannot be read or is not a capture."""


def encode_message(payload: dict[str, Any]) -> str:
    """The wire form of a message: compact JSON, exactly what is published and recorded."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    offset: float
    """Seconds since the start of the recording."""
    channel: Channel
    message: dict[str, Any]


class CaptureWriter:
    """Appends encoded messages to a gzip JSON-lines capture; use as a context manager."""

    def __init__(self, path: str | Path, compresslevel: int = 5) -> None:
        self.path = Path(path)
        # The writer owns the file for its lifetime and closes it in close() / __exit__.
        self._file: IO[str] = gzip.open(  # noqa: SIM115
            self.path, "wt", encoding="utf-8", compresslevel=compresslevel
        )
        self.count = 0

    def write(self, offset: float, channel: str, data: str) -> None:
        """Record one message; ``data`` is its JSON (see :func:`encode_message`)."""
        self._file.write(f'{{"t":{round(offset, 6)!r},"channel":"{channel}","message":{data}}}\n')
        self.count += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _parse_line(line: str, where: str) -> CaptureRecord:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaptureError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(obj, dict) or set(obj) != {"t", "channel", "message"}:
        raise CaptureError(f"{where}: expected an object with t, channel and message")
    offset, channel, message = obj["t"], obj["channel"], obj["message"]
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
        raise CaptureError(f"{where}: t must be a number of seconds")
    if channel not in _CHANNELS:
        raise CaptureError(f"{where}: unknown channel {channel!r}")
    if not isinstance(message, dict):
        raise CaptureError(f"{where}: message must be an object")
    return CaptureRecord(float(offset), _CHANNELS[channel], message)


def read_capture(path: str | Path) -> Generator[CaptureRecord, None, None]:
    """Records of a capture, in order; raises :class:`CaptureError` on the first bad line."""
    previous = -math.inf
    try:
        with gzip.open(Path(path), "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                record = _parse_line(line, f"{path}:{lineno}")
                if record.offset < previous:
                    raise CaptureError(f"{path}:{lineno}: t goes backwards")
                previous = record.offset
                yield record
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise CaptureError(f"cannot read capture {path}: {exc}") from exc


def check_capture(path: str | Path) -> None:
    """Raise :class:`CaptureError` unless ``path`` opens as a capture with a valid first line."""
    records = read_capture(path)
    try:
        next(records)
    except StopIteration:
        raise CaptureError(f"capture {path} is empty") from None
    finally:
        records.close()
