"""The archive: every line, as received, appended to ``optionsflow.jsonl`` in the log
directory, rotated by size (``LOG_FILE_BYTES``) into ``.1`` … ``.N`` (``LOG_FILES``).

The standard library's rotating handler does the rotation; lines are written
as they came (already JSON), one per line, and flushed before the collector
acknowledges them.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Sequence
from pathlib import Path

FILE_NAME = "optionsflow.jsonl"


class _Line(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


class Archive:
    def __init__(self, directory: Path, max_bytes: int, backups: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._handler = logging.handlers.RotatingFileHandler(
            self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._handler.setFormatter(_Line())

    def write(self, lines: Sequence[str]) -> None:
        """Append ``lines`` (rotating when a file is full); raises ``OSError`` on failure."""
        handler = self._handler
        for line in lines:
            one_line = line.replace("\n", " ")
            if handler.shouldRollover(logging.makeLogRecord({"msg": one_line})):
                handler.doRollover()
            stream = handler.stream or handler._open()  # None only after a failed rollover
            handler.stream = stream
            stream.write(one_line + "\n")
        handler.flush()

    def files(self) -> list[Path]:
        """The archive files, newest first."""
        rotated = sorted(
            self.path.parent.glob(FILE_NAME + ".*"), key=lambda p: int(p.suffix[1:] or 0)
        )
        return ([self.path] if self.path.exists() else []) + rotated

    def close(self) -> None:
        self._handler.close()
