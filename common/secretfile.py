"""Secrets ``make up`` generates once and keeps under ``var/secrets/`` (mode 0600).

The embedded Redis's password and the service credential (``SERVICE_TOKEN``) of the
one-machine set-up: created on the first run, read on the next ones, so a process the
supervisor restarts, or a second terminal's tool, finds the same value. Compose and the
chart take theirs from a Secret instead (docs/DEPLOY.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

SECRET_BYTES = 32
"""Random bytes per generated secret (43 URL-safe characters: no quoting in a URL)."""


def secrets_dir(var_dir: Path) -> Path:
    return var_dir.resolve() / "secrets"


def generated_secret(path: Path) -> str:
    """The secret kept in ``path``, created (0600, in a 0700 directory) if missing.

    Created with ``O_EXCL``: two processes racing for the first run agree on one value."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(SECRET_BYTES)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(value + "\n")
    os.chmod(path, 0o600)  # an older file, or a umask that widened nothing: keep it private
    kept = path.read_text(encoding="utf-8").strip()
    if not kept:
        raise ValueError(f"{path} is empty: delete it and start again")
    return kept
