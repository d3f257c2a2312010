"""The subscriber's side of the raw streams: its consumer group, reads, claims and acks.

The instances share one consumer group, :data:`common.names.SUBSCRIBER_GROUP`, on
each ``market:*`` stream; each is a consumer named after its host and process.
An entry read is *pending* for its reader until it is acknowledged, which the
service does only once the entry is enqueued (or dead-lettered, or superseded)
and through the sequence check. The entries of a reader that died stay pending;
after ``SUBSCRIBER_CLAIM_IDLE_MS`` without a touch, any instance claims them
(``XAUTOCLAIM``) and handles them again. A live reader touches what it holds
longer than that (``XCLAIM … JUSTID`` to itself), so nobody claims it.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from redis.typing import EncodableT, KeyT, StreamIdT

from common.names import (
    MARKET_CHANNELS,
    SUBSCRIBER_GROUP,
    Channel,
    raw_stream_key,
    seq_checked_key,
)
from common.rawfeed import STREAM_FIELD

log = logging.getLogger(__name__)

Entry = tuple[bytes, bytes]
"""``(stream entry ID, message bytes)``."""

_BY_STREAM = {raw_stream_key(c).encode(): c for c in MARKET_CHANNELS}

ENSURE_GROUP_LUA = """
-- KEYS: the stream, the sequence check's cursor. ARGV: the group.
-- Creates the group at the stream's end and puts the cursor on the last entry, in one step,
-- so the first run read is checked at once and nothing before the group counts as a gap.
local made = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')
if type(made) == 'table' and made.err then
  if string.find(made.err, 'BUSYGROUP', 1, true) then return 0 end
  return made
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
redis.call('SET', KEYS[2], #last > 0 and last[1][1] or '0-0')
return 1
"""

CLAIM_LUA = """
-- KEYS: the stream. ARGV: group, consumer, min idle ms, start ID, count.
-- Claims idle entries; returns {next start, {id, bytes, ...}, entries found trimmed}.
-- A trimmed entry is acknowledged here: Redis 6.2 keeps it pending and returns no ID for it
-- unless asked for IDs only, Redis 7 drops it and lists it apart.
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                           'COUNT', ARGV[5], 'JUSTID')
local entries, trimmed = {}, 0
for _, id in ipairs(claimed[2]) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found > 0 then
    local fields, data = found[1][2], ''
    for i = 1, #fields, 2 do
      if fields[i] == 'd' then data = fields[i + 1] end
    end
    entries[#entries + 1] = id
    entries[#entries + 1] = data
  else
    redis.call('XACK', KEYS[1], ARGV[1], id)
    trimmed = trimmed + 1
  end
end
if claimed[3] then trimmed = trimmed + #claimed[3] end
return {claimed[1], entries, trimmed}
"""

FORGET_CONSUMERS_LUA = """
-- KEYS: the stream. ARGV: the group, this consumer, idle ms.
-- Deletes consumers (other than this one) that hold nothing and were idle that long: the
-- instances that stopped. One holding entries is kept until they are claimed.
local gone = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1]
    elseif c[i] == 'pending' then pending = c[i + 1]
    elseif c[i] == 'idle' then idle = c[i + 1] end
  end
  if name ~= ARGV[2] and pending == 0 and idle >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    gone = gone + 1
  end
end
return gone
"""

ENTRY_ID_LUA = """
-- id_before(a, b): stream entry ID a ('<ms>-<n>') comes strictly before b.
local function id_before(a, b)
  local am, an = string.match(a, '^(%d+)-(%d+)$')
  local bm, bn = string.match(b, '^(%d+)-(%d+)$')
  am, an, bm, bn = tonumber(am), tonumber(an), tonumber(bm), tonumber(bn)
  return am < bm or (am == bm and an < bn)
end
"""
"""The stream-ID order the subscriber's scripts share (prepended to each)."""

TRIM_CONSUMED_LUA = (
    ENTRY_ID_LUA
    + """
-- KEYS: the stream. Trims (MINID ~) the entries every group of the stream is done with: those
-- before each group's oldest pending entry, or before its last delivered one when none is
-- pending. With no group nothing is trimmed here (MAXLEN still bounds the stream).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cut = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, pending, low
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1]
    elseif g[i] == 'pending' then pending = g[i + 1]
    elseif g[i] == 'last-delivered-id' then low = g[i + 1] end
  end
  if pending > 0 then low = redis.call('XPENDING', KEYS[1], name)[2] end
  if cut == nil or id_before(low, cut) then cut = low end
end
if cut == nil then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', cut)
"""
)


def consumer_name() -> str:
    """A new consumer name, ``{host}-{pid}-{random}``: unique among live instances, also in
    containers where every process is pid 1, and never one a dead instance still holds."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _data(fields: dict[bytes, bytes] | None) -> bytes:
    """The message of an entry; ``b""`` (dead-lettered as not JSON) for an entry without it."""
    return (fields or {}).get(STREAM_FIELD, b"")


class RawStreams:
    """The consumer group's commands for one subscriber instance (``consumer``)."""

    def __init__(
        self, client: redis.Redis, consumer: str, *, count: int, claim_idle_ms: int
    ) -> None:
        self.client = client
        self.consumer = consumer
        self.count = count
        self.claim_idle_ms = claim_idle_ms
        self.ensure_group = client.register_script(ENSURE_GROUP_LUA)
        self.claim_script = client.register_script(CLAIM_LUA)
        self.forget_script = client.register_script(FORGET_CONSUMERS_LUA)
        self.trim_script = client.register_script(TRIM_CONSUMED_LUA)
        self.streams: dict[KeyT, StreamIdT] = {raw_stream_key(c): ">" for c in MARKET_CHANNELS}

    def ensure_groups(self) -> list[Channel]:
        """Create the group on every stream that lacks it; the channels where it was made."""
        made = []
        for channel in MARKET_CHANNELS:
            keys = [raw_stream_key(channel), seq_checked_key(channel)]
            if self.ensure_group(keys=keys, args=[SUBSCRIBER_GROUP]):
                made.append(channel)
        return made

    def read(self, block_ms: int | None) -> list[tuple[Channel, list[Entry]]]:
        """New entries of every stream (at most ``count`` each), waiting up to ``block_ms``
        (``None``: not at all) for the first; in stream order per channel."""
        reply: Any = self.client.xreadgroup(
            SUBSCRIBER_GROUP, self.consumer, self.streams, count=self.count, block=block_ms
        )
        return [(_BY_STREAM[name], [(i, _data(f)) for i, f in entries])
                for name, entries in reply or ()]  # fmt: skip

    def claim(self, channel: Channel, start: bytes = b"0-0") -> tuple[bytes, list[Entry], int]:
        """Claim up to ``count`` entries idle ``claim_idle_ms`` or more (their reader died);
        the next start ID (``0-0`` when the scan is through), the entries in ID order, and
        how many claimed entries were trimmed meanwhile (acknowledged, lost)."""
        args: list[EncodableT] = [SUBSCRIBER_GROUP, self.consumer, self.claim_idle_ms, start,
                                 self.count]  # fmt: skip
        following, flat, trimmed = self.claim_script(keys=[raw_stream_key(channel)], args=args)
        entries = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
        return following, entries, int(trimmed)

    def ack(self, acks: dict[Channel, list[bytes]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for channel, ids in acks.items():
            for start in range(0, len(ids), 1000):
                pipe.xack(raw_stream_key(channel), SUBSCRIBER_GROUP, *ids[start : start + 1000])
        pipe.execute()

    def touch(self, held: Mapping[Channel, Iterable[bytes]]) -> None:
        """Reset the idle time of entries this instance still holds, so none is claimed."""
        pipe = self.client.pipeline(transaction=False)
        for channel, ids in held.items():
            listed: list[StreamIdT] = list(ids)
            for start in range(0, len(listed), 1000):
                pipe.xclaim(raw_stream_key(channel), SUBSCRIBER_GROUP, self.consumer, 0,
                            listed[start : start + 1000], justid=True)  # fmt: skip
        pipe.execute()

    def forget_stopped(self) -> int:
        """Delete the consumers of stopped instances that hold nothing; how many."""
        return sum(
            int(self.forget_script(keys=[raw_stream_key(c)],
                                   args=[SUBSCRIBER_GROUP, self.consumer, self.claim_idle_ms]))
            for c in MARKET_CHANNELS
        )  # fmt: skip

    def trim_consumed(self) -> int:
        """Trim what every group is done with (whole nodes: ``MINID ~``); entries removed."""
        return sum(int(self.trim_script(keys=[raw_stream_key(c)])) for c in MARKET_CHANNELS)
