"""The store contract, run on SQLite, mongomock and (with MONGO_URL) a live MongoDB."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import pytest

from common.timestamps import parse_ts
from optionsmath import enrich_chain
from store import DuplicateUser, Store
from tests.support.chains import EXPIRY, build_chain
from tests.support.snapshots import (
    EXPIRY_2,
    T0,
    at,
    candle,
    enriched,
    small,
    wire,
)


def test_store_satisfies_the_port(store: Store) -> None:
    assert isinstance(store, Store)
    store.ping()


def test_enriched_chain_round_trips_exactly(store: Store) -> None:
    doc = enriched(seq=7)
    assert doc["calls"][0]["oi_change"] == 500
    assert doc["calls"][1]["oi_change"] == 0
    assert doc["puts"][0]["iv"] is None
    assert doc["puts"][0]["delta"] is None
    assert store.insert_chains([doc]) == 1
    assert store.latest_chain("NIFTY", EXPIRY) == doc
    assert store.chain_history("NIFTY", EXPIRY, at(-1), at(1)) == [doc]


def test_fractional_oi_and_volume_round_trip_with_their_types(store: Store) -> None:
    """OI in coins (0.3 BTC) comes back 0.3, not 0; whole counts come back ints, 7.0 a float."""
    raw = build_chain(5, seq=8, timestamp=wire(0))
    previous = build_chain(5, seq=7, timestamp=wire(-1))
    for before, row, oi in zip(previous["calls"], raw["calls"], (0.3, 0.1, 7.0, 2, 1234.5),
                               strict=True):  # fmt: skip
        before["oi"], row["oi"], row["volume"] = 0.2, oi, 0.1
    doc = enrich_chain(raw, previous=previous, processed_at=wire(0, 5))
    assert [r["oi_change"] for r in doc["calls"]] == [0.1, -0.1, 6.8, 1.8, 1234.3]
    assert doc["total_call_oi"] == 1243.9
    store.insert_chains([doc])
    got = store.latest_chain("NIFTY", EXPIRY)
    assert got == doc
    assert got is not None
    assert [type(r["oi"]) for r in got["calls"]] == [float, float, float, int, float]
    assert [r["volume"] for r in got["calls"]] == [0.1] * 5
    assert type(got["total_put_oi"]) is int
    assert got["total_call_oi"] == 1243.9


def test_awkward_values_round_trip(store: Store) -> None:
    extra = {"tiny": 5e-324, "third": 0.1 + 0.2, "neg_zero": -0.0, "big": 2**63 - 1,
             "text": "₹ Δ 日本", "nested": [[None, True, 1.5]]}  # fmt: skip
    doc = small(1, extra=extra)
    store.insert_chains([doc])
    got = store.latest_chain("NIFTY", EXPIRY)
    assert got == doc
    assert got is not None
    assert math.copysign(1.0, got["extra"]["neg_zero"]) == -1.0
    assert type(got["extra"]["big"]) is int
    assert type(got["spot_price"]) is float


def test_insert_is_idempotent_on_product_expiry_seq(store: Store) -> None:
    batch = [small(seq) for seq in (5, 3, 4, 3, 1)]  # seq 3 twice in one call
    assert store.insert_chains(batch) == 4
    assert store.insert_chains(batch) == 0
    assert store.insert_chains([small(4), small(9), small(2, timestamp=wire(9))]) == 2
    assert store.chain_seqs("NIFTY", EXPIRY) == [1, 2, 3, 4, 5, 9]
    assert store.insert_chains([]) == 0
    # same seq under another expiry or product is another snapshot
    assert store.insert_chains([small(5, expiry=EXPIRY_2), small(5, product="BANKNIFTY")]) == 2


def test_invalid_document_rejects_the_whole_batch(store: Store) -> None:
    for bad in (
        {"seq": "8"}, {"seq": None}, {"timestamp": "2026-11-21 04:00:00"}, {"expiry": "26-11-2026"},
        {"product": ""}, {"_id": 1}, {"_ts": 1},
    ):  # fmt: skip
        with pytest.raises(ValueError, match="chain #1"):
            store.insert_chains([small(10), {**small(11), **bad}])
    with pytest.raises(ValueError, match="chain #0"):
        store.insert_chains([{"product": "NIFTY"}])
    with pytest.raises(ValueError, match="set"):
        store.insert_chains([small(12, extra={1, 2})])  # a set is not JSON data
    assert store.chain_seqs("NIFTY", EXPIRY) == []


def test_latest_is_newest_timestamp_then_highest_seq(store: Store) -> None:
    assert store.latest_chain("NIFTY", EXPIRY) is None
    store.insert_chains([small(10, 1), small(2, 3), small(30, 2), small(1, 3)])
    latest = store.latest_chain("NIFTY", EXPIRY)
    assert latest is not None
    assert (latest["timestamp"], latest["seq"]) == (wire(3), 2)
    store.insert_chains([small(99, 5, expiry=EXPIRY_2), small(98, 9, product="BANKNIFTY")])
    assert store.latest_chain("NIFTY", EXPIRY) == latest
    assert store.latest_chain("FINNIFTY", EXPIRY) is None


def test_history_range_is_start_inclusive_end_exclusive(store: Store) -> None:
    store.insert_chains([small(seq, minutes=seq) for seq in range(5)])
    store.insert_chains([small(2, minutes=2, expiry=EXPIRY_2)])

    def seqs(start: dt.datetime, end: dt.datetime) -> list[int]:
        return [d["seq"] for d in store.chain_history("NIFTY", EXPIRY, start, end)]

    assert seqs(at(1), at(3)) == [1, 2]
    assert seqs(at(1) + dt.timedelta(microseconds=1), at(3, ms=0)) == [2]
    assert seqs(at(1), at(3) + dt.timedelta(microseconds=1)) == [1, 2, 3]
    naive = at(1).replace(tzinfo=None), at(3).replace(tzinfo=None)
    assert seqs(*naive) == [1, 2]  # naive means UTC
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert seqs(at(1).astimezone(ist), at(3).astimezone(ist)) == [1, 2]
    assert seqs(at(-10), at(10)) == [0, 1, 2, 3, 4]
    assert seqs(at(3), at(1)) == []


def test_history_projects_top_level_fields(store: Store) -> None:
    doc = enriched(seq=3)
    store.insert_chains([doc])
    rows = store.chain_history("NIFTY", EXPIRY, at(0), at(1), fields=["pcr_oi", "calls", "nope"])
    assert rows == [
        {k: doc[k] for k in ("product", "expiry", "timestamp", "seq", "pcr_oi", "calls")}
    ]
    (bare,) = store.chain_history("NIFTY", EXPIRY, at(0), at(1), fields=[])
    assert set(bare) == {"product", "expiry", "timestamp", "seq"}


def test_keyset_pagination_walks_every_row_once(store: Store) -> None:
    # three snapshots share each timestamp and seqs are not in time order
    docs = [small(100 + (i * 7) % 23, minutes=i // 3) for i in range(23)]
    random.Random(5).shuffle(docs)
    store.insert_chains(docs)
    expected = sorted((d["timestamp"], d["seq"]) for d in docs)
    everything = store.chain_history("NIFTY", EXPIRY, at(0), at(60), limit=5000)
    assert [(d["timestamp"], d["seq"]) for d in everything] == expected

    pages: list[list[dict[str, Any]]] = []
    after = None
    while True:
        page = store.chain_history(
            "NIFTY", EXPIRY, at(0), at(60), fields=["spot_price"], limit=5, after=after
        )
        if not page:
            break
        pages.append(page)
        after = (page[-1]["timestamp"], page[-1]["seq"])
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    walked = [(d["timestamp"], d["seq"]) for p in pages for d in p]
    assert walked == expected
    assert all(
        set(d) == {"product", "expiry", "timestamp", "seq", "spot_price"} for p in pages for d in p
    )


def test_products_list_expiries_with_chains(store: Store) -> None:
    assert store.products() == {}
    store.insert_chains([small(1, expiry=EXPIRY_2), small(2), small(3),
                         small(1, product="BANKNIFTY", expiry=EXPIRY_2)])  # fmt: skip
    assert store.products() == {"BANKNIFTY": [EXPIRY_2], "NIFTY": [EXPIRY, EXPIRY_2]}


def test_candles_upsert_replaces_and_ranges(store: Store) -> None:
    store.upsert_candles([candle(0, 1.0), candle(1, 2.0), candle(2, 3.0), candle(0, 9.0, "5min")])
    store.upsert_candles([candle(1, 2.5, volume=1500)])
    store.upsert_candles([])
    got = store.candles("NIFTY", "1min", at(0), at(2))
    assert got == [candle(0, 1.0), candle(1, 2.5, volume=1500)]
    assert store.candles("NIFTY", "5min", at(0), at(60)) == [candle(0, 9.0, "5min")]
    assert store.candles("NIFTY", "15min", at(0), at(60)) == []
    assert store.candles("BANKNIFTY", "1min", at(0), at(60)) == []
    assert [c["close"] for c in store.candles("NIFTY", "1min", at(1), at(60))] == [2.5, 3.0]


def test_candles_reject_bad_input(store: Store) -> None:
    with pytest.raises(ValueError, match="candle #1"):
        store.upsert_candles([candle(0, 1.0), candle(1, 2.0, interval="2min")])
    for bad in ({"close": None}, {"volume": "12"}, {"start": "04:00"}, {"product": None}):
        with pytest.raises(ValueError, match="candle #0"):
            store.upsert_candles([{**candle(3, 1.0), **bad}])
    with pytest.raises(ValueError, match="1h"):
        store.candles("NIFTY", "1h", at(0), at(1))
    assert store.candles("NIFTY", "1min", at(0), at(60)) == []


def test_users_are_unique_case_insensitively(store: Store) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=1)  # stamps keep milliseconds
    user = store.create_user("Alice", "$argon2id$v=19$...", "trader")
    after = dt.datetime.now(dt.UTC)
    assert set(user) == {"id", "username", "password_hash", "role", "created_at"}
    assert isinstance(user["id"], str)
    assert user["id"]
    assert user["username"] == "Alice"
    assert user["role"] == "trader"
    assert before <= parse_ts(user["created_at"]) <= after  # stamped when created
    for taken in ("alice", "ALICE", "\uff21lice"):  # fullwidth A: the same name after NFKC
        with pytest.raises(DuplicateUser):
            store.create_user(taken, "x", "viewer")
    assert store.find_user("aLiCe") == user
    assert store.find_user("bob") is None
    bob = store.create_user("bob", "h", "viewer")
    assert bob["id"] != user["id"]
    assert store.find_user("BOB") == bob


def test_update_password_hash_replaces_only_that_users_hash(store: Store) -> None:
    alice = store.create_user("Alice", "$argon2id$v=19$old", "trader")
    bob = store.create_user("bob", "$argon2id$v=19$bob", "viewer")
    assert store.update_password_hash(alice["id"], "$argon2id$v=19$new") is True
    assert store.find_user("ALICE") == {**alice, "password_hash": "$argon2id$v=19$new"}
    assert store.find_user("bob") == bob
    # The same hash again still names an existing user.
    assert store.update_password_hash(alice["id"], "$argon2id$v=19$new") is True
    assert store.find_user("alice") == {**alice, "password_hash": "$argon2id$v=19$new"}


def test_update_password_hash_of_an_unknown_id_is_false(store: Store) -> None:
    alice = store.create_user("alice", "h", "viewer")
    assert store.update_password_hash("no-such-id", "h2") is False
    assert store.update_password_hash("alice", "h2") is False  # an id, not a username
    assert store.find_user("alice") == alice


def test_update_password_hash_rejects_empty_arguments(store: Store) -> None:
    alice = store.create_user("alice", "h", "viewer")
    with pytest.raises(ValueError, match="password_hash"):
        store.update_password_hash(alice["id"], "")
    with pytest.raises(ValueError, match="user_id"):
        store.update_password_hash("", "h2")
    assert store.find_user("alice") == alice


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5001}, "limit"),
        ({"limit": True}, "limit"),
        ({"fields": [""]}, "fields"),
        ({"fields": ["pcr_oi", " "]}, "fields"),
        ({"fields": "pcr_oi"}, "fields"),
        ({"fields": ["calls.iv"]}, "fields"),
        ({"fields": ["_id"]}, "fields"),
        ({"after": ("yesterday", 3)}, "timestamp"),
        ({"after": (T0.isoformat(), 3)}, "timestamp"),
        ({"after": ("2026-11-21T04:00:00.000Z", "3")}, "seq"),
    ],
)
def test_history_rejects_bad_arguments(store: Store, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.chain_history("NIFTY", EXPIRY, at(0), at(1), **kwargs)


def test_reads_reject_bad_keys(store: Store) -> None:
    with pytest.raises(ValueError, match="26-11-2026"):
        store.latest_chain("NIFTY", "26-11-2026")
    with pytest.raises(ValueError, match="product"):
        store.chain_seqs("", EXPIRY)
    with pytest.raises(ValueError, match="username"):
        store.create_user("", "h", "viewer")
    with pytest.raises(ValueError, match="role"):
        store.create_user("carol", "h", "")
    with pytest.raises(ValueError, match="username"):
        store.find_user("")


def test_chain_at_is_the_newest_snapshot_at_or_before(store: Store) -> None:
    assert store.chain_at("NIFTY", EXPIRY, at(10)) is None
    # minute 2 holds two snapshots; seq order differs from time order on purpose
    store.insert_chains([small(5, 0), small(3, 1), small(9, 2), small(7, 2), small(4, 4)])
    store.insert_chains([small(50, 3, expiry=EXPIRY_2), small(60, 3, product="BANKNIFTY")])

    def seq_at(moment: dt.datetime) -> int | None:
        doc = store.chain_at("NIFTY", EXPIRY, moment)
        return None if doc is None else doc["seq"]

    assert seq_at(at(-1)) is None
    assert seq_at(at(0)) == 5  # at equal to a timestamp includes it
    assert seq_at(at(1) - dt.timedelta(microseconds=1)) == 5
    assert seq_at(at(1)) == 3
    assert seq_at(at(1, ms=999)) == 3
    assert seq_at(at(2) + dt.timedelta(microseconds=999)) == 9  # same ms: the highest seq
    assert seq_at(at(3.5)) == 9  # minute 3 exists only under other keys
    assert seq_at(at(100)) == 4
    assert seq_at(at(1).replace(tzinfo=None)) == 3  # naive means UTC
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert seq_at(at(1).astimezone(ist)) == 3
    assert store.chain_at("NIFTY", EXPIRY_2, at(2)) is None
    assert store.chain_at("FINNIFTY", EXPIRY, at(100)) is None


def test_chain_at_returns_the_document_and_projects(store: Store) -> None:
    older, newer = enriched(seq=3), enriched(seq=4, minutes=1)
    store.insert_chains([older, newer])
    assert store.chain_at("NIFTY", EXPIRY, at(0.5)) == older
    assert store.chain_at("NIFTY", EXPIRY, at(5)) == newer
    got = store.chain_at("NIFTY", EXPIRY, at(5), fields=["pcr_oi", "atm_iv", "nope"])
    keys = ("product", "expiry", "timestamp", "seq", "pcr_oi", "atm_iv")
    assert got == {k: newer[k] for k in keys}
    bare = store.chain_at("NIFTY", EXPIRY, at(0), fields=[])
    assert bare == {"product": "NIFTY", "expiry": EXPIRY, "timestamp": wire(0), "seq": 3}


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("NIFTY", EXPIRY, "2026-11-21T04:00:00.000Z"), {}, "datetime"),
        (("NIFTY", "26-11-2026", T0), {}, "26-11-2026"),
        (("", EXPIRY, T0), {}, "product"),
        (("NIFTY", EXPIRY, T0), {"fields": "pcr_oi"}, "fields"),
        (("NIFTY", EXPIRY, T0), {"fields": ["calls.iv"]}, "fields"),
        (("NIFTY", EXPIRY, T0), {"fields": ["_ts"]}, "fields"),
    ],
)
def test_chain_at_rejects_bad_arguments(
    store: Store, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.chain_at(*args, **kwargs)
