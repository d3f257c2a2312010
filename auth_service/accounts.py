"""User accounts: registration and password checks against the store, no HTTP.

Shared by the routes and the ``create-user`` command.
"""

from __future__ import annotations

import logging
from typing import Any

from auth_service.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from auth_service.tokens import Role
from auth_service.verifycap import hashing_slot
from store import DuplicateUser, Store, StoreError

log = logging.getLogger(__name__)


def register(store: Store, username: str, password: str, role: Role = Role.USER) -> dict[str, Any]:
    """Create a user with a fresh Argon2id hash; ``DuplicateUser`` for a taken name.

    A taken name is refused before hashing: a retried or repeated registration costs a
    lookup, not Argon2's CPU time (the 409 says the name exists anyway). Two concurrent
    registrations of one new name both hash; the store's unique key refuses the second.
    The hash takes a slot of the process's cap (``HashingBusyError``, 503, when none is free).
    """
    if store.find_user(username) is not None:
        raise DuplicateUser(username)
    with hashing_slot():
        password_hash = hash_password(password)
    return store.create_user(username, password_hash, Role(role).value)


def authenticate(store: Store, username: str, password: str) -> dict[str, Any] | None:
    """The user if ``password`` is theirs, else ``None`` — after the same hashing work either way.

    An unknown username still costs one verification (``verify_dummy``), so response
    time does not tell which usernames exist. The hashing holds one slot of the
    process's cap (``HashingBusyError``, 503, when none is free): the verification and, for
    a hash made with other parameters, its replacement, so a login that verified is
    never refused half-way.
    """
    user = store.find_user(username)
    with hashing_slot():
        if user is None:
            verify_dummy(password)
            return None
        if not verify_password(user["password_hash"], password):
            return None
        new_hash = hash_password(password) if needs_rehash(user["password_hash"]) else None
    if new_hash is not None:
        _upgrade_hash(store, user, new_hash)
    return user


def _upgrade_hash(store: Store, user: dict[str, Any], new_hash: str) -> None:
    """Store a hash with today's parameters; the login stands even if the store refuses."""
    try:
        updated = store.update_password_hash(user["id"], new_hash)
    except StoreError as exc:
        # The old hash still verifies: retried at the next login. Neither hash is logged,
        # nor the error's text, which an adapter may build from the request.
        log.warning(
            "password hash upgrade failed; the old hash stays",
            extra={"user_id": user["id"], "error": type(exc).__name__},
        )
        return
    if not updated:
        log.warning(
            "password hash upgrade found no user with that id", extra={"user_id": user["id"]}
        )
        return
    user["password_hash"] = new_hash
    log.info("password hash upgraded", extra={"user_id": user["id"]})
