"""The sessions part of the store contract (refresh families, denied access tokens), run on
SQLite, mongomock and (with MONGO_URL) a live MongoDB."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from store import Rotation, Store
from store.sqlite import SqliteStore

EXP = 1_900_000_000


def test_a_new_family_has_its_first_token_current(store: Store) -> None:
    store.start_session("fam-1", "user-1", "jti-a", EXP)
    assert store.session("fam-1") == {
        "family": "fam-1", "user_id": "user-1", "current_jti": "jti-a", "rotations": 0,
        "revoked": None, "expires_at": EXP,
    }  # fmt: skip
    assert store.session("fam-2") is None
    store.start_session("fam-1", "user-9", "jti-z", EXP + 5)  # a retried call changes nothing
    assert store.session("fam-1") == {
        "family": "fam-1", "user_id": "user-1", "current_jti": "jti-a", "rotations": 0,
        "revoked": None, "expires_at": EXP,
    }  # fmt: skip


def test_rotation_spends_the_current_token_once(store: Store) -> None:
    store.start_session("fam-1", "user-1", "jti-a", EXP)
    assert store.rotate_session("fam-1", "jti-a", "jti-b") is Rotation.ROTATED
    assert store.rotate_session("fam-1", "jti-b", "jti-c") is Rotation.ROTATED
    record = store.session("fam-1")
    assert record is not None
    assert (record["current_jti"], record["rotations"], record["revoked"]) == ("jti-c", 2, None)
    # jti-a was spent two rotations ago: presenting it is reuse, and ends the family
    assert store.rotate_session("fam-1", "jti-a", "jti-x") is Rotation.REUSED
    record = store.session("fam-1")
    assert record is not None
    assert (record["current_jti"], record["revoked"]) == ("jti-c", "reuse")
    # the newest token dies with it
    assert store.rotate_session("fam-1", "jti-c", "jti-d") is Rotation.REVOKED
    assert store.session("fam-1") == record


def test_families_are_independent(store: Store) -> None:
    store.start_session("phone", "user-1", "p1", EXP)
    store.start_session("laptop", "user-1", "l1", EXP)
    assert store.rotate_session("phone", "p1", "p2") is Rotation.ROTATED
    assert store.rotate_session("phone", "p1", "p3") is Rotation.REUSED
    assert store.rotate_session("laptop", "l1", "l2") is Rotation.ROTATED
    assert store.rotate_session("laptop", "p2", "l3") is Rotation.REUSED  # not its token
    assert store.rotate_session("nobody", "x", "y") is Rotation.UNKNOWN
    assert store.session("nobody") is None


def test_revocation_keeps_its_first_reason_and_records_unknown_families(store: Store) -> None:
    store.start_session("fam-1", "user-1", "jti-a", EXP)
    store.revoke_session("fam-1", "logout", EXP)
    store.revoke_session("fam-1", "user", EXP)
    record = store.session("fam-1")
    assert record is not None
    assert (record["revoked"], record["current_jti"], record["user_id"]) == (
        "logout", "jti-a", "user-1",
    )  # fmt: skip
    assert store.rotate_session("fam-1", "jti-a", "jti-b") is Rotation.REVOKED
    store.revoke_session("old-fam", "logout", EXP)  # issued before families were stored
    unknown = store.session("old-fam")
    assert unknown is not None
    assert (unknown["revoked"], unknown["expires_at"]) == ("logout", EXP)
    assert store.rotate_session("old-fam", "anything", "next") is Rotation.REVOKED


def test_denied_access_tokens_are_listed_until_they_expire(store: Store) -> None:
    store.revoke_access("a", 1000)
    store.revoke_access("b", 2000)
    store.revoke_access("c", 3000)
    store.revoke_access("b", 1500)  # a repeat never shortens the denial
    assert sorted(store.revoked_access(999)) == [("a", 1000), ("b", 2000), ("c", 3000)]
    assert sorted(store.revoked_access(1000)) == [("b", 2000), ("c", 3000)]
    assert store.revoked_access(3000) == []


def test_prune_forgets_what_has_expired(store: Store) -> None:
    store.start_session("old", "user-1", "o1", 1000)
    store.start_session("new", "user-1", "n1", 5000)
    store.revoke_access("a", 1000)
    store.revoke_access("b", 5000)
    assert store.prune_sessions(1000) == 2
    assert store.session("old") is None
    assert store.session("new") is not None
    assert store.revoked_access(0) == [("b", 5000)]
    assert store.prune_sessions(1000) == 0


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("start_session", ("", "u", "j", EXP)),
        ("start_session", ("f", "u", "j", -1)),
        ("start_session", ("f", "u", "j", True)),
        ("rotate_session", ("f", "", "n")),
        ("revoke_session", ("f", "", EXP)),
        ("revoke_access", ("j", 1.5)),
        ("revoked_access", ("0",)),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    store: Store, call: str, args: tuple[object, ...]
) -> None:
    with pytest.raises(ValueError, match="must be"):
        getattr(store, call)(*args)
    assert store.session("f") is None
    assert store.revoked_access(0) == []


def test_concurrent_rotations_of_one_token_let_exactly_one_win(tmp_path: Path) -> None:
    """Eight processes' worth of connections (one per thread) race on one SQLite file."""
    path = tmp_path / "sessions.db"
    setup = SqliteStore(path)
    setup.start_session("fam", "user-1", "jti-a", EXP)
    outcomes: list[Rotation] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        own = SqliteStore(path)
        barrier.wait()
        outcomes.append(own.rotate_session("fam", "jti-a", f"next-{n}"))
        own.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Rotation.ROTATED) == 1
    assert set(outcomes) - {Rotation.ROTATED} <= {Rotation.REUSED, Rotation.REVOKED}
    record = setup.session("fam")
    assert record is not None
    assert record["revoked"] == "reuse"  # the losers presented a spent token
    setup.close()
