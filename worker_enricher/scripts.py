"""Lua scripts that make read-modify-write steps on Redis atomic across workers."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.commands.core import Script

LATEST = """
-- KEYS: latest key, order hash. ARGV: timestamp_ms, seq, payload, ttl_s.
-- Keeps the newest payload by (timestamp, seq): a late or replayed task never
-- replaces a newer snapshot. Returns 1 when the payload was stored.
local order = redis.call('HGET', KEYS[2], KEYS[1])
if order and redis.call('EXISTS', KEYS[1]) == 1 then
  local ts, seq = string.match(order, '^(%d+):(%d+)$')
  ts, seq = tonumber(ts), tonumber(seq)
  local new_ts, new_seq = tonumber(ARGV[1]), tonumber(ARGV[2])
  if ts > new_ts or (ts == new_ts and seq >= new_seq) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
redis.call('HSET', KEYS[2], KEYS[1], ARGV[1] .. ':' .. ARGV[2])
return 1
"""

TICKS = """
-- KEYS: seen-seqs zset, closed-candles hash, spot hash, then one candle hash per interval.
-- ARGV: product, seen_keep, number of intervals, their lengths in ms, then for each
-- tick, in seq order: timestamp_ms, price, volume, seq.
-- Applies each tick to the open candles once (a redelivered tick is recognised by
-- its seq); a candle that a newer tick closes moves to the closed hash to be persisted.
-- Returns, per tick: applied (0/1), late (1 if its candle of some interval was
-- closed already), then start, open, high, low, close, volume per interval.
local product, keep, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local function apply(key, len, ts, price, volume)
  local start = ts - ts % len
  local c = redis.call('HMGET', key, 'start', 'open', 'high', 'low', 'close', 'volume', 'last')
  local cur = tonumber(c[1])
  if cur and start < cur then
    return 1  -- the candle of this tick is closed already
  elseif cur and start == cur then
    local p = tonumber(price)
    if p > tonumber(c[3]) then redis.call('HSET', key, 'high', price) end
    if p < tonumber(c[4]) then redis.call('HSET', key, 'low', price) end
    if ts >= tonumber(c[7]) then redis.call('HSET', key, 'close', price, 'last', ts) end
    redis.call('HINCRBY', key, 'volume', volume)
  else
    if cur then
      local interval = string.match(key, '^candle:([^:]+):')
      redis.call('HSET', KEYS[2], product .. '|' .. interval .. '|' .. c[1],
        table.concat({c[2], c[3], c[4], c[5], c[6]}, '|'))
    end
    redis.call('HSET', key, 'start', start, 'open', price, 'high', price, 'low', price,
      'close', price, 'volume', volume, 'last', ts)
  end
  return 0
end
for t = 4 + n, #ARGV, 4 do
  local ts, price, volume, seq = tonumber(ARGV[t]), ARGV[t + 1], tonumber(ARGV[t + 2]), ARGV[t + 3]
  if redis.call('ZADD', KEYS[1], 'NX', seq, seq) == 0 then
    out[#out + 1] = 0
    out[#out + 1] = 0
    for j = 1, 6 * n do out[#out + 1] = '' end
  else
    local spot = redis.call('HGET', KEYS[3], product)
    if not spot or tonumber(string.match(spot, '|(%d+)$')) <= ts then
      redis.call('HSET', KEYS[3], product, price .. '|' .. ARGV[t])
    end
    local late = 0
    for i = 1, n do
      late = math.max(late, apply(KEYS[3 + i], tonumber(ARGV[3 + i]), ts, price, volume))
    end
    out[#out + 1] = 1
    out[#out + 1] = late
    for i = 1, n do
      local c = redis.call('HMGET', KEYS[3 + i], 'start', 'open', 'high', 'low', 'close', 'volume')
      for j = 1, 6 do out[#out + 1] = c[j] end
    end
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -keep - 1)
return out
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


@dataclass(frozen=True, slots=True)
class Scripts:
    latest: Script
    ticks: Script
    iv_points: Script


def register_scripts(client: redis.Redis) -> Scripts:
    """The scripts bound to ``client``; pass ``client=pipeline`` to run one inside a pipeline."""
    return Scripts(
        latest=client.register_script(LATEST),
        ticks=client.register_script(TICKS),
        iv_points=client.register_script(IV_POINTS),
    )
