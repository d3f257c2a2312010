"""The Kite access token of a running connector: from the settings, renewed from a file.

A Kite Connect access token lives until the daily logout (about 06:00 IST the next
morning); after it, the ticker refuses the handshake with HTTP 403 and REST answers
``TokenException``. The user makes a new one each day through Kite's login flow and writes
it to ``KITE_ACCESS_TOKEN_FILE``; :meth:`TokenSource.renewed` re-reads that file (a few
bytes, whenever the connector is paused on a refused token) and hands back the new
credentials once its contents differ from the token refused. Without a file the token is
the one the process started with, and a refused token waits for a restart.
"""

from __future__ import annotations

import logging
from pathlib import Path

from feed_generator.venues.kite.client import Credentials

__all__ = ["TokenSource"]

log = logging.getLogger(__name__)
MAX_TOKEN_BYTES = 4096


class TokenSource:
    """``credentials`` now; ``path`` (``KITE_ACCESS_TOKEN_FILE``) is re-read on demand."""

    def __init__(self, credentials: Credentials, path: Path | None = None) -> None:
        self.credentials = credentials
        self.path = path

    def _read(self) -> str | None:
        if self.path is None:
            return None
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_TOKEN_BYTES + 1)
        except OSError as exc:
            log.warning("kite token file not read", extra={"path": str(self.path),
                                                           "error": exc.strerror})  # fmt: skip
            return None
        text = raw.decode("utf-8", "replace").strip()
        if not text or len(raw) > MAX_TOKEN_BYTES or any(c.isspace() for c in text):
            return None  # half-written or not a token: wait for the next read
        return text

    def renewed(self, refused: str) -> Credentials | None:
        """New credentials when the file holds a token other than ``refused``, else ``None``."""
        token = self._read()
        if token is None or token == refused:
            return None
        self.credentials = Credentials(self.credentials.api_key, token)
        return self.credentials
