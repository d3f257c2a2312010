"""The live chains one request values legs on: read from ``latest:*`` in one round trip,
each parsed once (orjson) into its message and its smile.

Nothing is cached between requests: every evaluation reads the newest chains the workers
keep, so there is nothing to invalidate. A chain older than its product's
``stale_after_s`` is still used; the answer says ``stale``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from common.latest import Entry, LatestReader, stamp_age
from common.products import ProductConventions
from optionsmath.strategy import Smile, StrategyInputError, smile_of


class NoLiveChain(Exception):  # noqa: N818  # read as a state, like the store's errors
    """No live chain where the request needs one: a 404 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class LiveChain:
    """One expiry's newest enriched chain: its message, its smile, whether it is stale."""

    message: dict[str, Any]
    smile: Smile
    stale: bool


@dataclass(frozen=True, slots=True)
class LiveMarket:
    """The chains of one request's expiries (at least one)."""

    product: str
    chains: Mapping[dt.date, LiveChain]

    @property
    def newest(self) -> LiveChain:
        """The chain with the newest timestamp (the first of them on a tie)."""
        return max(self.chains.values(), key=lambda chain: chain.smile.as_of)

    @property
    def spot(self) -> float:
        """The newest chain's ``spot_price``: the spot the legs are valued at."""
        return self.newest.smile.spot

    @property
    def as_of(self) -> str:
        """The newest chain's ``timestamp``."""
        return str(self.newest.message["timestamp"])

    @property
    def stale(self) -> bool:
        return any(chain.stale for chain in self.chains.values())

    @property
    def smiles(self) -> dict[dt.date, Smile]:
        return {expiry: chain.smile for expiry, chain in self.chains.items()}


def read_chains(
    reader: LatestReader, product: str, expiries: Sequence[dt.date]
) -> list[bytes | None]:
    """The newest chain bytes of each of ``expiries`` (``None``: not live), one MGET."""
    return reader.get_many([Entry(product, expiry.isoformat()) for expiry in expiries])


def live_market(
    product: str,
    fields: Mapping[dt.date, str],
    raw: Sequence[bytes | None],
    conventions: ProductConventions,
    now: dt.datetime,
) -> LiveMarket:
    """The chains of ``fields``' expiries (in order, ``raw`` their bytes) parsed at ``now``;
    :class:`NoLiveChain` naming the field of an expiry without one,
    :class:`StrategyInputError` naming it for a chain that cannot be valued."""
    if not fields:
        raise StrategyInputError("legs", "at least one leg must be an option")
    chains: dict[dt.date, LiveChain] = {}
    for (expiry, field), body in zip(fields.items(), raw, strict=True):
        if body is None:
            raise NoLiveChain(field, f"no live chain of {product} {expiry}")
        chains[expiry] = parse_chain(field, body, conventions, now)
    return LiveMarket(product, chains)


def parse_chain(
    field: str, body: bytes, conventions: ProductConventions, now: dt.datetime
) -> LiveChain:
    """One chain's bytes parsed once, its smile built, its age judged at ``now``;
    :class:`StrategyInputError` naming ``field`` when it cannot be valued."""
    try:
        message = orjson.loads(body)
        smile = smile_of(message, conventions)
    except (ValueError, TypeError, AttributeError) as exc:  # orjson's error is a ValueError
        raise StrategyInputError(field, f"the live chain cannot be valued: {exc}") from None
    age = stamp_age(message.get("timestamp"), now.timestamp(), conventions.stale_after_s)
    return LiveChain(message, smile, stale=age is None or age.stale)
