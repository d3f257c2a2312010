"""Argon2id password hashing: round trip, mismatches, rehash detection."""

from __future__ import annotations

from argon2 import PasswordHasher

from auth_service.passwords import hash_password, needs_rehash, verify_dummy, verify_password


def test_hash_verifies_and_is_salted() -> None:
    first = hash_password("correct horse battery staple")
    second = hash_password("correct horse battery staple")
    assert first.startswith("$argon2id$v=19$")
    assert "correct horse" not in first
    assert first != second  # fresh salt each time
    assert verify_password(first, "correct horse battery staple") is True
    assert verify_password(second, "correct horse battery staple") is True


def test_wrong_password_and_corrupt_hash_are_mismatches() -> None:
    stored = hash_password("s3cret-Passw0rd")
    assert verify_password(stored, "s3cret-passw0rd") is False
    assert verify_password(stored, "") is False
    assert verify_password("not-a-hash", "s3cret-Passw0rd") is False
    assert verify_dummy("s3cret-Passw0rd") is False


def test_needs_rehash_flags_weaker_parameters() -> None:
    assert needs_rehash(hash_password("pw")) is False
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert needs_rehash(weak) is True
    assert verify_password(weak, "pw") is True
