"""Lua scripts that make read-modify-write steps on Redis atomic across workers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.client
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from worker_enricher.alerting.lua import ALERT_CAS, ALERT_READ

log = logging.getLogger(__name__)

LATEST = """
-- KEYS: latest key, order hash, products index, then for a chain its expiries index.
-- ARGV: timestamp_ms, seq, payload, ttl_s, product, then for a chain its expiry.
-- Keeps the newest payload by (timestamp, seq): a late or replayed task never
-- replaces a newer snapshot. Returns 1 when the payload was stored.
-- The entry expires at D = Redis's now + ttl (PXAT) and the indexes score it with
-- the same D, so a reader comparing the scores with Redis's TIME never finds an
-- expired entry live (common/latest.py). Nobody scans keys to find them.
local order = redis.call('HGET', KEYS[2], KEYS[1])
if order and redis.call('EXISTS', KEYS[1]) == 1 then
  local ts, seq = string.match(order, '^(%d+):(%d+)$')
  ts, seq = tonumber(ts), tonumber(seq)
  local new_ts, new_seq = tonumber(ARGV[1]), tonumber(ARGV[2])
  if ts > new_ts or (ts == new_ts and seq >= new_seq) then return 0 end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + math.floor(tonumber(ARGV[4]) * 1000)
redis.call('SET', KEYS[1], ARGV[3], 'PXAT', deadline)
redis.call('HSET', KEYS[2], KEYS[1], ARGV[1] .. ':' .. ARGV[2])

local function index(key, member, only_later)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)  -- entries already expired
  if only_later then
    redis.call('ZADD', key, 'GT', deadline, member)
  else
    redis.call('ZADD', key, deadline, member)
  end
  -- the set lives as long as its longest-lived member (a lowered TTL shortens none)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', key, last[2])
end
-- a product lives while any of its entries does; an expiry exactly as long as its chain
index(KEYS[3], ARGV[5], true)
if KEYS[4] then index(KEYS[4], ARGV[6], false) end
return 1
"""

TICKS = """
-- KEYS: seen-seqs zset, closed-candles hash, spot hash, then one candle hash per interval.
-- ARGV: product, seen_keep, number of intervals, their lengths in ms, then for each
-- tick, in seq order: timestamp_ms, price, volume, seq.
-- Applies each tick to the candles once (a redelivered tick is recognised by its
-- seq). A candle closed by a newer tick is kept as the previous one (p_* fields)
-- and queued in the closed hash to be stored; a late tick of that candle amends it
-- and queues it again. Returns, per tick: applied (0: seen before), late (1 if
-- older than the previous candle of some interval, so left out of it), then start,
-- open, high, low, close, volume of the open candle per interval.
local product, keep, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local F = {'start', 'open', 'high', 'low', 'close', 'volume', 'first', 'last'}
local P = {'p_start', 'p_open', 'p_high', 'p_low', 'p_close', 'p_volume', 'p_first', 'p_last'}

local function add(key, names, c, ts, price, volume)
  -- c: current values of names; the tick is in this candle
  local p = tonumber(price)
  if p > tonumber(c[3]) then redis.call('HSET', key, names[3], price) end
  if p < tonumber(c[4]) then redis.call('HSET', key, names[4], price) end
  if ts >= tonumber(c[8]) then redis.call('HSET', key, names[5], price, names[8], ts) end
  if ts < tonumber(c[7]) then redis.call('HSET', key, names[2], price, names[7], ts) end
  redis.call('HINCRBY', key, names[6], volume)
end

local function queue_closed(key, fields)
  local c = redis.call('HMGET', key, unpack(fields))
  local interval = string.match(key, '^candle:([^:]+):')
  redis.call('HSET', KEYS[2], product .. '|' .. interval .. '|' .. c[1],
    table.concat({c[2], c[3], c[4], c[5], c[6]}, '|'))
end

local function apply(key, len, ts, price, volume)
  local start = ts - ts % len
  local c = redis.call('HMGET', key, unpack(F))
  local cur = tonumber(c[1])
  if cur and start == cur then
    add(key, F, c, ts, price, volume)
  elseif cur and start < cur then
    local pc = redis.call('HMGET', key, unpack(P))
    local previous = tonumber(pc[1])
    if previous == start then
      add(key, P, pc, ts, price, volume)
    elseif previous == nil or start > previous then  -- a closed candle nobody opened yet
      redis.call('HSET', key, 'p_start', start, 'p_open', price, 'p_high', price,
        'p_low', price, 'p_close', price, 'p_volume', volume, 'p_first', ts, 'p_last', ts)
    else
      return 1  -- older than the previous candle: left out
    end
    queue_closed(key, P)
  else
    if cur then
      for i = 1, 8 do redis.call('HSET', key, P[i], c[i]) end
      queue_closed(key, P)
    end
    redis.call('HSET', key, 'start', start, 'open', price, 'high', price, 'low', price,
      'close', price, 'volume', volume, 'first', ts, 'last', ts)
  end
  return 0
end

local function seen(seq)
  if redis.call('ZSCORE', KEYS[1], seq) then return true end
  if redis.call('ZCARD', KEYS[1]) >= keep then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if tonumber(seq) < tonumber(oldest[2]) then return true end  -- older than the window
  end
  redis.call('ZADD', KEYS[1], seq, seq)
  return false
end

local out = {}
for t = 4 + n, #ARGV, 4 do
  local ts, price, volume, seq = tonumber(ARGV[t]), ARGV[t + 1], ARGV[t + 2], ARGV[t + 3]
  local late = 0
  if seen(seq) then
    out[#out + 1] = 0
  else
    local spot = redis.call('HGET', KEYS[3], product)
    if not spot or tonumber(string.match(spot, '|(%d+)$')) <= ts then
      redis.call('HSET', KEYS[3], product, price .. '|' .. ARGV[t])
    end
    for i = 1, n do
      late = math.max(late, apply(KEYS[3 + i], tonumber(ARGV[3 + i]), ts, price, volume))
    end
    out[#out + 1] = 1
  end
  out[#out + 1] = late
  for i = 1, n do
    local c = redis.call('HMGET', KEYS[3 + i], 'start', 'open', 'high', 'low', 'close', 'volume')
    for j = 1, 6 do out[#out + 1] = c[j] end
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -keep - 1)
return out
"""

FORGET = """
-- KEYS: a hash. ARGV: field, value, repeated. Deletes each field still holding that
-- value, so an entry rewritten meanwhile (a candle amended by a late tick) stays.
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
"""

IV_POINTS = """
-- KEYS: the IV points hash of a product. ARGV: field, timestamp_ms, value, repeated.
-- A point replaces the stored one only when it is at least as new.
local n = 0
for i = 1, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or tonumber(string.match(old, '^(%d+)|')) <= tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2])
    n = n + 1
  end
end
return n
"""


THROTTLE = """
-- KEYS: the surface's lock key, its pending key. ARGV: the refresh interval in ms.
-- Returns 1: rebuild now (the lock was free, taken for the interval); 2: a rebuild is
-- deferred (none pending yet: the caller schedules one); 0: one is pending already.
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then return 1 end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', 2 * tonumber(ARGV[1])) then return 2 end
return 0
"""


class PipelinedScript:
    """A script run by EVALSHA. In a pipeline it is queued as a bare EVALSHA: redis-py's own
    :class:`Script` asks ``SCRIPT EXISTS`` in a round trip of its own before every such
    pipeline (measured: a tenth of a worker's batch time). The scripts are loaded when
    registered; a Redis restarted or flushed since then answers ``NOSCRIPT``
    (:class:`redis.exceptions.NoScriptError`): :meth:`Scripts.execute` then loads them again
    and sends those EVALSHAs alone, so the pipeline's other commands (dead letters,
    publishes) still run once. Outside a pipeline it is redis-py's :class:`Script`, which
    loads it on ``NOSCRIPT``."""

    def __init__(self, client: redis.Redis, source: str) -> None:
        self.script: Script = client.register_script(source)

    @property
    def sha(self) -> str:
        return str(self.script.sha)

    def __call__(self, keys: Sequence[Any], args: Sequence[Any], client: Any = None) -> Any:
        if isinstance(client, redis.client.Pipeline):
            return client.evalsha(self.sha, len(keys), *keys, *args)
        return self.script(keys=keys, args=args, client=client)


@dataclass(frozen=True, slots=True)
class Scripts:
    latest: PipelinedScript
    ticks: PipelinedScript
    forget: PipelinedScript
    iv_points: PipelinedScript
    throttle: PipelinedScript
    alert_read: PipelinedScript
    alert_cas: PipelinedScript

    def _all(self) -> tuple[PipelinedScript, ...]:
        return (self.latest, self.ticks, self.forget, self.iv_points, self.throttle,
                self.alert_read, self.alert_cas)  # fmt: skip

    def load(self, client: redis.Redis) -> None:
        """Load every script into ``client``'s Redis (one round trip)."""
        pipe = client.pipeline(transaction=False)
        for script in self._all():
            pipe.script_load(script.script.script)
        pipe.execute()

    def execute(self, pipe: redis.client.Pipeline) -> list[Any]:
        """``pipe.execute()`` for a pipeline holding these scripts' EVALSHAs.

        A Redis restarted or flushed since the scripts were loaded answers those with
        ``NOSCRIPT`` while running the pipeline's other commands. The scripts are then
        loaded again and only the failed EVALSHAs are sent once more, in one more round
        trip (each keeps the newest, so running one later is safe), their replies put in
        place: nothing else runs twice. Any other error is raised as ``execute`` would.
        """
        commands = list(pipe.command_stack)
        replies: list[Any] = pipe.execute(raise_on_error=False)
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:
            log.warning("scripts loaded again", extra={"evalshas": len(missing)})
            scripts = self._all()
            for script in scripts:
                pipe.script_load(script.script.script)
            for i in missing:
                args, options = commands[i]
                pipe.execute_command(*args, **options)  # type: ignore[no-untyped-call]
            again = pipe.execute(raise_on_error=False)[len(scripts) :]
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies


def register_scripts(client: redis.Redis) -> Scripts:
    """The scripts bound to ``client``, loaded into its Redis; pass ``client=pipeline`` to
    queue one in a pipeline."""
    scripts = Scripts(
        latest=PipelinedScript(client, LATEST),
        ticks=PipelinedScript(client, TICKS),
        forget=PipelinedScript(client, FORGET),
        iv_points=PipelinedScript(client, IV_POINTS),
        throttle=PipelinedScript(client, THROTTLE),
        alert_read=PipelinedScript(client, ALERT_READ),
        alert_cas=PipelinedScript(client, ALERT_CAS),
    )
    scripts.load(client)
    return scripts
