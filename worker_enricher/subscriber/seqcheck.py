"""Sequence checks per (channel, product), in stream order, with their state in Redis.

Every market message carries ``seq``, one more per (channel, product) at the
publisher. The check keeps the last ``seq`` per (channel, product) in the hash
``subscriber:seq:{channel}``, so a restarted subscriber compares its first message
with the one before the restart and a gap across it is counted, never hidden.

Several instances read one stream through a consumer group: each gets a
contiguous run of entries at a time, and runs read one after another may be
checked in the other order (instance B checks its run while A is still decoding
the run before it). Checked out of order, A's messages would look like repeats
and B's first like a gap. So the check goes in stream order, whoever reads: the
key ``subscriber:checked:{channel}`` holds the stream ID up to which every entry
has been checked (the *cursor*), and a run is checked only when the entry just
before its first one (``XREVRANGE``) is at or before the cursor; otherwise it
*waits* (the script returns without touching it) and its reader tries again.
Entries at or before the cursor were checked already: redelivered after a
crash, they are skipped. A reader acknowledges its entries only after their
check (:mod:`worker_enricher.subscriber.service`), so the entries a waiting run
depends on are pending somewhere and reach the check in the end: their reader
is alive and about to check them, or it died and another instance claims them.

One script call checks a run atomically: classify each ``seq`` against the last
one (``NEXT``, ``GAP`` with how many are missing, ``REPEAT`` at or below it,
``RESET`` for a jump beyond :data:`MAX_GAP`, a new publisher run), write the new
last seqs and the cursor.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from common.names import Channel, raw_stream_key, seq_checked_key, seq_last_key
from worker_enricher.subscriber.streams import ENTRY_ID_LUA

MAX_GAP = 100_000
"""A forward jump larger than this, or any step back beyond it, is a new publisher run.

The feed numbers each run from its start instant in microseconds, so a restart
jumps by millions: that is a reset of the sequence, not millions of lost messages.
"""

GAP_DETAILS = 50
"""Gaps described per call (product, seq, missing), for the log; all are counted."""


class Mode(enum.StrEnum):
    RUN = "run"
    """Entries read with ``>``: contiguous in the stream, so only the first one's predecessor
    needs to be looked at."""
    EACH = "each"
    """Entries claimed from another consumer: not contiguous, each one's predecessor is looked
    at."""
    FORCE = "force"
    """Checked now whatever came before (a run that waited too long); the cursor moves on."""


CHECK_LUA = (
    ENTRY_ID_LUA
    + """
-- KEYS: the stream, the hash product -> last seq, the cursor.
-- ARGV: mode, MAX_GAP, GAP_DETAILS, then (entry id, product or '', seq or '') per entry.
local function at_or_before(a, b) return not id_before(b, a) end
local mode, max_gap, details_max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local cursor = redis.call('GET', KEYS[3])
local moved = false
local last, last_text, dirty = {}, {}, {}
local settled, skipped, first, nexts, gaps, missing, repeats, resets = 0, 0, 0, 0, 0, 0, 0, 0
local details = {}
local verified = (mode == 'force')
for i = 4, #ARGV, 3 do
  local id, product, seq_text = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if cursor and at_or_before(id, cursor) then
    skipped = skipped + 1
  else
    if not verified then
      local before = redis.call('XREVRANGE', KEYS[1], '(' .. id, '-', 'COUNT', 1)
      if cursor and #before > 0 and not at_or_before(before[1][1], cursor) then
        break  -- an entry before this one is not checked yet: wait for it
      end
      verified = (mode == 'run')
    end
    if product ~= '' then
      local seq = tonumber(seq_text)
      if last[product] == nil then
        local stored = redis.call('HGET', KEYS[2], product)
        last[product] = stored and tonumber(stored) or false
      end
      local prev = last[product]
      local step = 'reset'
      if not prev then
        step = 'first'
        first = first + 1
      else
        local delta = seq - prev
        if delta == 1 then
          step = 'next'
          nexts = nexts + 1
        elseif delta > 1 and delta <= max_gap then
          step = 'gap'
          gaps = gaps + 1
          missing = missing + delta - 1
          if #details < 3 * details_max then
            details[#details + 1] = product
            details[#details + 1] = seq_text
            details[#details + 1] = delta - 1
          end
        elseif delta <= 0 and delta >= -max_gap then
          step = 'repeat'
          repeats = repeats + 1
        else
          resets = resets + 1
        end
      end
      if step ~= 'repeat' then
        last[product] = seq
        last_text[product] = seq_text
        dirty[#dirty + 1] = product
      end
    end
    cursor = id
    moved = true
  end
  settled = settled + 1
end
if #dirty > 0 then
  local fields = {}
  for _, product in ipairs(dirty) do
    fields[#fields + 1] = product
    fields[#fields + 1] = last_text[product]
  end
  redis.call('HSET', KEYS[2], unpack(fields))
end
if moved then redis.call('SET', KEYS[3], cursor) end
return {settled, skipped, first, nexts, gaps, missing, repeats, resets, details}
"""
)


class Step(enum.Enum):
    FIRST = "first"
    NEXT = "next"
    GAP = "gap"
    REPEAT = "repeat"
    """At or below the last seq: a duplicate or a late message."""
    RESET = "reset"


Entry = tuple[bytes, str | None, int | None]
"""``(stream entry ID, product, seq)``; product and seq ``None`` when the envelope failed (the
entry still moves the cursor)."""


@dataclass(slots=True)
class Checked:
    """What one call made of a run."""

    settled: int
    """Leading entries of the run that are through the check (now, or before: ``skipped``);
    the rest wait for entries before them."""
    skipped: int
    """Entries at or before the cursor: checked before, delivered again."""
    steps: dict[Step, int] = field(default_factory=dict)
    missing: int = 0
    gaps: list[tuple[str, int, int]] = field(default_factory=list)
    """``(product, seq, missing)`` of the first :data:`GAP_DETAILS` gaps."""


def _parse(reply: Sequence[Any]) -> Checked:
    settled, skipped, first, nexts, gaps, missing, repeats, resets, details = reply
    steps = {Step.FIRST: first, Step.NEXT: nexts, Step.GAP: gaps, Step.REPEAT: repeats,
             Step.RESET: resets}  # fmt: skip
    found = [
        (_text(details[i]), int(details[i + 1]), int(details[i + 2]))
        for i in range(0, len(details), 3)
    ]
    return Checked(int(settled), int(skipped), steps, int(missing), found)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SequenceCheck:
    """Runs the check script; one call per run, several runs pipelined in one round trip."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.sha = hashlib.sha1(CHECK_LUA.encode()).hexdigest()

    def check_all(self, runs: Sequence[tuple[Channel, Mode, Sequence[Entry]]]) -> list[Checked]:
        """Check each run, in order, in one round trip; what each call made of its run."""
        if not runs:
            return []
        try:
            return self._check_all(runs)
        except redis.exceptions.NoScriptError:  # a restarted or flushed Redis
            self.client.script_load(CHECK_LUA)
            return self._check_all(runs)

    def _check_all(self, runs: Sequence[tuple[Channel, Mode, Sequence[Entry]]]) -> list[Checked]:
        # EVALSHA by hand: a pipeline holding Script objects asks SCRIPT EXISTS on every execute.
        pipe = self.client.pipeline(transaction=False)
        for channel, mode, entries in runs:
            args: list[bytes | str | int] = [mode.value, MAX_GAP, GAP_DETAILS]
            for entry_id, product, seq in entries:
                args += [entry_id, product or "", "" if seq is None else seq]
            keys = [raw_stream_key(channel), seq_last_key(channel), seq_checked_key(channel)]
            pipe.evalsha(self.sha, len(keys), *keys, *args)
        return [_parse(reply) for reply in pipe.execute()]
