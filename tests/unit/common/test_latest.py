"""The reader of ``latest:*`` and the writer's index of live entries, on a real redis-server.

Entries are written by the workers' own script (tests/support/latest.py), so the
index is the one production keeps.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from common import latest
from common.latest import Entry, LatestReader
from common.names import LATEST_PRODUCTS_KEY, latest_expiries_key
from tests.support.latest import put_chain, put_latest, put_underlying
from tests.support.processes import wait_until
from worker_enricher.cache import keep_newest
from worker_enricher.scripts import register_scripts

pytestmark = pytest.mark.redis

NEAR, FAR = "2099-12-24", "2099-12-31"


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_reads_of_entries_and_of_what_is_live(redis_client: redis.Redis) -> None:
    redis_client.config_resetstat()
    put_chain(redis_client, "NIFTY", FAR, b'{"far": 1}')
    put_chain(redis_client, "NIFTY", NEAR, b'{"near": 1}')
    put_chain(redis_client, "M&M", FAR, b'{"mm": 1}')
    put_underlying(redis_client, "TCS", b'{"tick": 1}')  # a product with no chain
    reader = LatestReader(redis_client)

    assert reader.chain("NIFTY", NEAR) == b'{"near": 1}'
    assert reader.chain("NIFTY", "2099-12-17") is None
    assert reader.underlying("TCS") == b'{"tick": 1}'
    assert reader.underlying("NIFTY") is None
    assert reader.get_many([Entry("NIFTY", FAR), Entry("TCS"), Entry("SENSEX")]) == [
        b'{"far": 1}', b'{"tick": 1}', None
    ]  # fmt: skip
    assert reader.get_many([]) == []
    assert (reader.exists(Entry("M&M", FAR)), reader.exists(Entry("M&M"))) == (True, False)
    assert reader.expiries("NIFTY") == [NEAR, FAR]
    assert reader.expiries("TCS") == []
    assert reader.expiries("SENSEX") == []
    assert reader.products() == ["M&M", "NIFTY", "TCS"]
    assert reader.listing() == {"M&M": [FAR], "NIFTY": [NEAR, FAR], "TCS": []}
    assert "cmdstat_scan" not in redis_client.info("commandstats")


def test_an_empty_redis_has_nothing_live(redis_client: redis.Redis) -> None:
    reader = LatestReader(redis_client)
    assert (reader.products(), reader.listing(), reader.expiries("NIFTY")) == ([], {}, [])


def test_the_index_scores_each_entry_with_the_instant_its_key_expires(
    redis_client: redis.Redis,
) -> None:
    put_chain(redis_client, "NIFTY", FAR, b"{}", ttl_s=600)
    put_chain(redis_client, "NIFTY", NEAR, b"{}", ttl_s=60)
    put_underlying(redis_client, "NIFTY", b"{}", ttl_s=900)
    pipe = redis_client.pipeline(transaction=True)  # one instant for every reading
    pipe.time()
    for key in (Entry("NIFTY", FAR).key, Entry("NIFTY", NEAR).key, Entry("NIFTY").key):
        pipe.pttl(key)
    pipe.zrange(latest_expiries_key("NIFTY"), 0, -1, withscores=True)
    pipe.zscore(LATEST_PRODUCTS_KEY, "NIFTY")
    pipe.pttl(latest_expiries_key("NIFTY"))
    pipe.pttl(LATEST_PRODUCTS_KEY)
    (sec, usec), far, near, tick, scores, product, index_ttl, products_ttl = pipe.execute()
    now = sec * 1000 + usec // 1000
    assert 599_000 < far <= 600_000
    assert dict(scores) == {FAR.encode(): pytest.approx(now + far, abs=1),
                            NEAR.encode(): pytest.approx(now + near, abs=1)}  # fmt: skip
    assert product == pytest.approx(now + tick, abs=1)  # the longest-lived of its entries
    assert index_ttl == pytest.approx(far, abs=1)  # the set goes with its last member
    assert products_ttl == pytest.approx(tick, abs=1)


def test_an_expired_entry_is_never_listed_live(redis_client: redis.Redis) -> None:
    put_chain(redis_client, "NIFTY", FAR, b"{}", ttl_s=3600)
    put_chain(redis_client, "NIFTY", NEAR, b"{}", ttl_s=1)
    put_underlying(redis_client, "BRIEF", b"{}", ttl_s=1)
    put_chain(redis_client, "BRIEF", NEAR, b"{}", ttl_s=1)
    listed: list[bool] = []

    def near_listed() -> bool:
        # The key is looked at first, then the index: listed live later means alive then.
        pipe = redis_client.pipeline(transaction=False)
        pipe.exists(Entry("NIFTY", NEAR).key)
        live = latest.queue_expiries(pipe, "NIFTY")
        replies = pipe.execute()
        listed.append(NEAR in live.result(replies))
        assert replies[0] == 1 or not listed[-1], "an expired chain listed live"
        return listed[-1]

    assert wait_until(lambda: not near_listed(), timeout=10, interval=0.01)
    assert listed[0] is True  # it was live before it was not
    reader = LatestReader(redis_client)
    assert reader.expiries("NIFTY") == [FAR]
    assert wait_until(lambda: "BRIEF" not in reader.products(), timeout=10, interval=0.01)
    assert wait_until(lambda: reader.chain("NIFTY", NEAR) is None, timeout=10, interval=0.01)
    assert reader.listing() == {"NIFTY": [FAR]}


def test_a_past_member_not_trimmed_yet_is_not_live_and_the_next_write_trims_it(
    redis_client: redis.Redis,
) -> None:
    put_chain(redis_client, "NIFTY", FAR, b"{}")
    past = _server_ms(redis_client) - 1
    redis_client.zadd(latest_expiries_key("NIFTY"), {NEAR: past})  # as if its key just expired
    redis_client.zadd(LATEST_PRODUCTS_KEY, {"GONE": past})
    reader = LatestReader(redis_client)
    assert reader.expiries("NIFTY") == [FAR]
    assert reader.products() == ["NIFTY"]

    put_chain(redis_client, "NIFTY", "2100-01-28", b"{}")
    assert redis_client.zscore(latest_expiries_key("NIFTY"), NEAR) is None
    assert redis_client.zscore(LATEST_PRODUCTS_KEY, "GONE") is None
    assert reader.expiries("NIFTY") == [FAR, "2100-01-28"]


def test_an_older_payload_changes_neither_the_entry_nor_the_index(
    redis_client: redis.Redis,
) -> None:
    put_chain(redis_client, "NIFTY", FAR, b'{"seq": 2}', ttl_s=600)
    score = redis_client.zscore(latest_expiries_key("NIFTY"), FAR)
    pipe = redis_client.pipeline(transaction=False)
    old = {"timestamp": "2020-01-01T00:00:00.000Z", "seq": 1}
    keep_newest(pipe, register_scripts(redis_client), entry=Entry("NIFTY", FAR), message=old,
                payload=b'{"seq": 1}', ttl_s=3600)  # fmt: skip
    assert pipe.execute() == [0]
    assert LatestReader(redis_client).chain("NIFTY", FAR) == b'{"seq": 2}'
    assert redis_client.zscore(latest_expiries_key("NIFTY"), FAR) == score


def test_reads_join_a_callers_pipeline(redis_client: redis.Redis) -> None:
    put_chain(redis_client, "NIFTY", FAR, b'{"c": 1}')
    put_latest(redis_client, Entry("NIFTY"), b'{"u": 1}')
    redis_client.hset(Entry("BAD").key, "not", "a string")  # GET answers WRONGTYPE
    pipe = redis_client.pipeline(transaction=False)
    pipe.set("other", 1)  # the caller's own commands, before and between
    chain = latest.queue_get(pipe, Entry("NIFTY", FAR))
    both = latest.queue_get_many(pipe, [Entry("NIFTY"), Entry("NIFTY", NEAR)])
    pipe.exists("other")
    count = latest.queue_exists(pipe, [Entry("NIFTY"), Entry("SENSEX")])
    expiries = latest.queue_expiries(pipe, "NIFTY")
    products = latest.queue_products(pipe)
    bad = latest.queue_get(pipe, Entry("BAD"))
    replies: list[Any] = pipe.execute(raise_on_error=False)

    assert len(replies) == 10  # one round trip for all of it
    assert (replies[0], replies[3]) == (True, 1)
    assert chain.result(replies) == b'{"c": 1}'
    assert both.result(replies) == [b'{"u": 1}', None]
    assert count.result(replies) == 1
    assert expiries.result(replies) == [FAR]
    assert products.result(replies) == ["NIFTY"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        bad.result(replies)
    with pytest.raises(ValueError, match="expected 1 replies"):
        bad.result(replies[:-1])
