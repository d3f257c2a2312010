"""The archive: every line, as received, appended to ``optionsflow.jsonl`` in the log
directory, rotated by size (``LOG_FILE_BYTES``) into ``.1`` … ``.N`` (``LOG_FILES``).

The standard library's rotating handler does the rotation (renaming ``.1`` …
``.N``); lines are written as they came (already JSON), one per line, and
flushed before the collector acknowledges them.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Sequence
from pathlib import Path

FILE_NAME = "optionsflow.jsonl"


class Archive:
    def __init__(self, directory: Path, max_bytes: int, backups: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._handler = logging.handlers.RotatingFileHandler(
            self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        self._max_bytes = max_bytes

    def write(self, lines: Sequence[str]) -> None:
        """Append ``lines`` (rotating when a file is full); raises ``OSError`` on failure.

        The size is tracked here, one ``tell`` per batch: the handler's own check
        formats a record per line, which cost more than the write itself."""
        handler = self._handler
        stream = handler.stream or handler._open()  # None only after a failed rollover
        handler.stream = stream
        size = stream.tell()
        for line in lines:
            data = line.replace("\n", " ") + "\n"
            length = len(data.encode())
            if size and size + length > self._max_bytes:
                handler.doRollover()
                stream, size = handler.stream, 0
            stream.write(data)
            size += length
        stream.flush()

    def files(self) -> list[Path]:
        """The archive files, newest first."""
        rotated = sorted(
            self.path.parent.glob(FILE_NAME + ".*"), key=lambda p: int(p.suffix[1:] or 0)
        )
        return ([self.path] if self.path.exists() else []) + rotated

    def close(self) -> None:
        self._handler.close()
