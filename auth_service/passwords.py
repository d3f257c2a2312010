"""Password hashing with Argon2id at OWASP's recommended parameters.

OWASP's Password Storage Cheat Sheet: 19 MiB, 2 iterations, 1 lane. argon2-cffi's
defaults (RFC 9106's low-memory profile: 64 MiB, t=3, p=4) cost ~150 ms of CPU per
login here, and a burst of logins starved the gateway (504s); these cost ~25 ms.
Hashes made with other parameters still verify and are replaced at the next
successful login (:func:`needs_rehash`, ``accounts.authenticate``). How many run at
once is capped per process by :mod:`auth_service.verifycap`, not here.

Passwords are never logged or put in exception messages; callers get booleans.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MEMORY_COST_KIB = 19 * 1024
"""Argon2 memory per hash (KiB): 19 MiB."""
TIME_COST = 2
"""Passes over that memory."""
PARALLELISM = 1
"""Lanes: one core per hash, so concurrent logins, not one login, use the cores."""

_hasher = PasswordHasher(
    time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM, type=Type.ID
)


def hash_password(password: str) -> str:
    """An encoded Argon2id hash (``$argon2id$v=19$m=19456,t=2,p=1$…``), fresh random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a corrupt hash counts as a mismatch.

    A hash made with other parameters verifies at its own (encoded) parameters.
    """
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's; rehash after a login."""
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
