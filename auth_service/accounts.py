"""User accounts: registration and password checks against the store, no HTTP.

Shared by the routes and the ``create-user`` command.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from auth_service.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from auth_service.tokens import Role
from storage_service.store import Store

log = logging.getLogger(__name__)


@runtime_checkable
class PasswordHashUpdater(Protocol):
    """A store that can replace a user's password hash (used to upgrade old hashes)."""

    def update_password_hash(self, user_id: str, password_hash: str) -> None: ...


def register(store: Store, username: str, password: str, role: Role = Role.USER) -> dict[str, Any]:
    """Create a user with a fresh Argon2id hash; the store's ``DuplicateUser`` propagates."""
    return store.create_user(username, hash_password(password), Role(role).value)


def authenticate(store: Store, username: str, password: str) -> dict[str, Any] | None:
    """The user if ``password`` is theirs, else ``None`` — after the same hashing work either way.

    An unknown username still costs one verification (``verify_dummy``), so response
    time does not tell which usernames exist.
    """
    user = store.find_user(username)
    if user is None:
        verify_dummy(password)
        return None
    if not verify_password(user["password_hash"], password):
        return None
    if needs_rehash(user["password_hash"]):
        _upgrade_hash(store, user, password)
    return user


def _upgrade_hash(store: Store, user: dict[str, Any], password: str) -> None:
    # The store port has no way to replace a hash yet; upgrade once it does.
    if not isinstance(store, PasswordHashUpdater):
        log.info(
            "password hash is outdated; the store cannot replace it", extra={"user_id": user["id"]}
        )
        return
    new_hash = hash_password(password)
    store.update_password_hash(user["id"], new_hash)
    user["password_hash"] = new_hash
    log.info("password hash upgraded", extra={"user_id": user["id"]})
