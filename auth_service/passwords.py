"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Passwords are never logged or put in exception messages; callers get booleans.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An encoded Argon2id hash (``$argon2id$v=19$m=…``) with a fresh random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a corrupt hash counts as a mismatch."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's; rehash after a login."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("optionsflow-dummy-password")


def verify_dummy(password: str) -> bool:
    """Spend the time of one verification for an unknown user, so timing does not reveal it.

    Always ``False``.
    """
    verify_password(_dummy_hash(), password)
    return False
