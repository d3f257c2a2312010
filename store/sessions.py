"""Refresh-token families and revoked access tokens as the adapters keep them.

auth_service's logout and rotation must outlive Redis (a restart, a failover to an empty
replica): the store is where they are decided. A family's record holds the ``jti`` of its
one current refresh token: every other token the family ever issued was current once and
has been spent, so "presented ≠ current" is reuse. Instants are epoch seconds, like the
tokens' ``exp``; a record whose ``expires_at`` has passed may be pruned.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

SESSION_FIELDS = ("family", "user_id", "current_jti", "rotations", "revoked", "expires_at")
"""Keys of :meth:`Store.session`'s answer."""


class Rotation(StrEnum):
    """What :meth:`Store.rotate_session` found, and did."""

    ROTATED = "rotated"
    """The presented token was current: ``next_jti`` is now."""
    REVOKED = "revoked"
    """The family was revoked before: nothing changed."""
    REUSED = "reused"
    """The presented token was spent: the family is now revoked (reason ``reuse``)."""
    UNKNOWN = "unknown"
    """No such family (issued before families were stored, or pruned): nothing changed."""


def text(value: Any, name: str) -> str:
    """``value`` if it is a non-empty string of at most 200 characters; ``ValueError`` if not."""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError(f"{name} must be a non-empty string of at most 200 characters")
    return value


def instant(value: Any, name: str) -> int:
    """``value`` if it is an int of epoch seconds (not a bool); ``ValueError`` if not."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be epoch seconds (a non-negative int), got {value!r}")
    return value


def decide(current_jti: str, revoked: str | None, presented_jti: str) -> Rotation:
    """The outcome of presenting ``presented_jti`` to a family in this state."""
    if revoked is not None:
        return Rotation.REVOKED
    return Rotation.ROTATED if current_jti == presented_jti else Rotation.REUSED
