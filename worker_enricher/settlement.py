"""Paper positions settled when their expiry passes.

The chain task records, per (product, expiry) it sees, the expiry's instant (the product's
conventions) and the newest spot before it, in the hash ``paper:expiries``
(``{product}|{expiry}`` → ``{expiry_ms}|{spot}|{timestamp}``; one HSET per expiry per
batch, kept only while newer). Every ``SWEEP_S`` at most, one worker at a time (a lock), the
entries whose instant has passed are settled: ``PaperStore.settle(product, expiry, spot)``
closes every owner's positions of that expiry at intrinsic value against that spot (the
settlement price: the newest spot the platform saw before the expiry instant) and cancels
its open orders, each owner in one transaction; settling again changes nothing, so the
entry is dropped only after it succeeded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

import redis

from common.products import ConventionsRegistry
from common.timestamps import parse_expiry, parse_ts
from paper.market import PLACES
from store.paper.port import PaperStore

log = logging.getLogger(__name__)

EXPIRIES_KEY = "paper:expiries"
SWEEP_LOCK_KEY = "paper:expiries:sweep"
SWEEP_S = 30.0

# KEYS: the hash. ARGV: field, value triples' pairs: each field set only if the stored value's
# timestamp (third part) is older. Returns nothing.
_RECORD = """
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or string.match(old, '[^|]*$') < string.match(ARGV[i + 1], '[^|]*$') then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
"""


class Settlement:
    """Records the expiries seen and settles those that passed."""

    def __init__(
        self,
        client: redis.Redis,
        store: PaperStore,
        registry: ConventionsRegistry,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._redis, self._store, self._registry = client, store, registry
        self._clock, self._wall = clock, wall
        self._record = client.register_script(_RECORD)
        self._last_sweep = -SWEEP_S

    def on_chains(self, chains: Sequence[Mapping[str, Any]]) -> int:
        """Record the chains' expiries (those before their expiry instant); sweep when due;
        how many positions were settled."""
        args: list[str] = []
        for chain in chains:
            expiry = str(chain["expiry"])
            product = str(chain["product"])
            instant = self._registry.get(product).expiry_instant(parse_expiry(expiry))
            stamp = str(chain["timestamp"])
            if parse_ts(stamp) < instant:
                spot = round(float(chain["spot_price"]), PLACES)
                args += [
                    f"{product}|{expiry}",
                    f"{int(instant.timestamp() * 1000)}|{spot!r}|{stamp}",
                ]
        if args:
            self._record(keys=[EXPIRIES_KEY], args=args)
        now = self._clock()
        if now - self._last_sweep < SWEEP_S:
            return 0
        self._last_sweep = now
        return self.sweep()

    def sweep(self) -> int:
        """Settle every recorded expiry whose instant has passed (one sweeper at a time)."""
        if not self._redis.set(SWEEP_LOCK_KEY, b"1", nx=True, px=int(SWEEP_S * 1000)):
            return 0
        now_ms = self._wall() * 1000
        settled = 0
        recorded = cast(dict[bytes, bytes], self._redis.hgetall(EXPIRIES_KEY))
        for field, value in recorded.items():
            name, text = field.decode(), value.decode()
            instant_ms, spot, stamp = text.split("|")
            if float(instant_ms) > now_ms:
                continue
            product, expiry = name.split("|")
            count = self._store.settle(product, expiry, Decimal(spot))
            self._redis.hdel(EXPIRIES_KEY, field)
            settled += count
            log.info(
                "paper expiry settled",
                extra={"product": product, "expiry": expiry, "price": spot, "spot_at": stamp,
                       "positions": count},
            )  # fmt: skip
        return settled
