"""What the simulated users do, in plain Python: the crash-day curve, the views users
open, the analytics they read, user names, token lifetimes and delivery latency.

No Locust here: the unit tests import this module, and importing Locust would
monkey-patch the pytest process with gevent.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
"""auth_service's username rule."""
MAX_PREFIX = 16
"""Longest user-name prefix: ``{prefix}-{worker}-{n}`` must stay within 32 characters."""


# -- the crash-day profile ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrashDay:
    """A normal morning of ``start_users``, a crash that brings ``peak_users`` within
    ``ramp_s``, and the peak held for ``hold_s``; then the run ends. Seconds throughout."""

    start_users: int = 200
    peak_users: int = 2000
    baseline_s: float = 60.0
    """How long the normal morning lasts before the crash."""
    ramp_s: float = 600.0
    hold_s: float = 1200.0
    spawn_rate: float = 20.0
    """Users started per second to reach ``start_users``."""

    def __post_init__(self) -> None:
        if not 1 <= self.start_users <= self.peak_users:
            raise ValueError(
                f"need 1 <= start users ({self.start_users}) <= peak users ({self.peak_users})"
            )
        if min(self.baseline_s, self.hold_s) < 0 or self.ramp_s <= 0:
            raise ValueError("baseline and hold must be >= 0 s, the ramp > 0 s")
        if self.spawn_rate <= 0:
            raise ValueError(f"spawn rate must be > 0, got {self.spawn_rate}")

    @property
    def ramp_rate(self) -> float:
        """Users started per second during the ramp (``spawn_rate`` with nothing to ramp)."""
        extra = self.peak_users - self.start_users
        return extra / self.ramp_s if extra else self.spawn_rate

    @property
    def duration_s(self) -> float:
        return self.baseline_s + self.ramp_s + self.hold_s

    def target(self, elapsed_s: float) -> tuple[int, float] | None:
        """(users, spawn rate per second) ``elapsed_s`` into the run; ``None``: the run is over.

        The ramp asks for the peak at a rate that reaches it in ``ramp_s``, so Locust
        starts users evenly instead of in one-second steps.
        """
        if elapsed_s < self.baseline_s:
            return self.start_users, self.spawn_rate
        if elapsed_s < self.duration_s:
            return self.peak_users, self.ramp_rate
        return None


# -- what a user looks at ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """One product and expiry on screen (the dashboard's selection)."""

    product: str
    expiry: str


Catalogue = Mapping[str, Sequence[str]]
"""Product → its expiries, ascending."""


def parse_catalogue(body: object, only: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """The products (those in ``only``, when given) that have expiries, from a
    ``GET /api/products`` answer ``{products: [{product, expiries}]}``."""
    entries = body.get("products") if isinstance(body, dict) else None
    catalogue: dict[str, tuple[str, ...]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        product, expiries = entry.get("product"), entry.get("expiries")
        if not isinstance(product, str) or (only and product not in only):
            continue
        if isinstance(expiries, list) and expiries:
            catalogue[product] = tuple(sorted(str(e) for e in expiries))
    return catalogue


def pick_view(catalogue: Catalogue, rng: random.Random) -> View:
    """A product at random and one of its expiries, the nearest the most watched
    (weight 1/rank: with four expiries the nearest is chosen 48 % of the time)."""
    if not catalogue:
        raise ValueError("no product with expiries to look at")
    product = rng.choice(sorted(catalogue))
    expiries = catalogue[product]
    expiry = rng.choices(expiries, weights=[1 / (rank + 1) for rank in range(len(expiries))])[0]
    return View(product, expiry)


ANALYTICS_WEIGHTS: Mapping[str, int] = {
    "series": 3,
    "candles": 3,
    "oi-change": 2,
    "smile": 2,
    "term-structure": 1,
    "surface": 1,
    "iv-rank": 1,
    "realized-vs-implied": 1,
}
"""How often an API client reads each analytics route: the dashboard's charts first."""


def analytics_query(route: str, view: View) -> dict[str, str]:
    """The query an API client sends to ``/api/analytics/{product}/{route}``."""
    if route == "series":
        return {"expiry": view.expiry, "interval": "1m", "metrics": "pcr_oi,pcr_volume,max_pain"}
    if route in ("oi-change", "smile"):
        return {"expiry": view.expiry}
    if route == "candles":
        return {"interval": "1m"}
    if route == "realized-vs-implied":
        return {"interval": "5m", "window": "12"}
    if route in ANALYTICS_WEIGHTS:
        return {}
    raise ValueError(f"unknown analytics route {route!r}")


def pick_analytics(rng: random.Random) -> str:
    routes = list(ANALYTICS_WEIGHTS)
    return rng.choices(routes, weights=[ANALYTICS_WEIGHTS[r] for r in routes])[0]


# -- users and tokens -----------------------------------------------------------------------


def check_prefix(prefix: str) -> str:
    if not (1 <= len(prefix) <= MAX_PREFIX and USERNAME.match(prefix + "xx")):
        raise ValueError(f"user prefix must be 1-{MAX_PREFIX} of [A-Za-z0-9_.-], got {prefix!r}")
    return prefix


def username(prefix: str, worker: int, n: int) -> str:
    """The ``n``-th simulated user of load generator ``worker``: the same names every run,
    so a second run logs in users the first one registered."""
    name = f"{check_prefix(prefix)}-{worker}-{n}"
    if not USERNAME.match(name):
        raise ValueError(f"user name {name!r} breaks auth_service's rule")
    return name


@dataclass(frozen=True, slots=True)
class Tokens:
    """A login's token pair and when to refresh it (monotonic seconds)."""

    access: str
    refresh: str
    issued_at: float
    lifetime_s: float

    @classmethod
    def from_answer(cls, body: object, now: float) -> Tokens:
        """From a login or refresh answer; ValueError when it is not one."""
        if not isinstance(body, dict):
            raise ValueError("token answer is not a JSON object")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        lifetime = body.get("expires_in")
        if not (isinstance(access, str) and isinstance(refresh, str) and access and refresh):
            raise ValueError("token answer without access_token and refresh_token")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            raise ValueError(f"token answer with expires_in {lifetime!r}")
        return cls(access, refresh, now, float(lifetime))

    def refresh_due(self, now: float) -> bool:
        """Refresh a minute before expiry (a fifth of the lifetime when shorter), as the
        dashboard does."""
        margin = min(60.0, self.lifetime_s * 0.2)
        return now >= self.issued_at + self.lifetime_s - margin


def backoff_s(
    failures: int, rng: random.Random, first_s: float = 2.0, cap_s: float = 60.0
) -> float:
    """Pause before the next try after ``failures`` failed ones in a row, as the dashboard
    waits before reconnecting: capped exponential, the upper half drawn at random so
    refused users do not come back in step and retries cannot keep a service down."""
    if failures < 1:
        return 0.0
    ceiling = min(cap_s, first_s * 2 ** (failures - 1))
    return rng.uniform(ceiling / 2, ceiling)


# -- Socket.IO -----------------------------------------------------------------------------


def socket_url(host: str, config: object) -> str:
    """Where the dashboard would connect: ``socket_url`` of the gateway's ``/config.json``,
    else the gateway's own scheme and host on ``socket_port``."""
    if isinstance(config, dict):
        explicit = config.get("socket_url")
        if isinstance(explicit, str) and explicit:
            return explicit.rstrip("/")
        port = config.get("socket_port")
    else:
        port = None
    parts = urlsplit(host)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"host must be a URL like http://127.0.0.1:8000, got {host!r}")
    if not isinstance(port, int) or not 0 < port < 65_536:
        raise ValueError(f"/config.json has no socket_port: {config!r}")
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{hostname}:{port}"


def delivery_latency_ms(origin: object, now_s: float) -> float | None:
    """Milliseconds from a message's origin ``timestamp`` (ISO-8601 UTC, set by the feed) to
    ``now_s`` (epoch seconds); ``None`` without a readable timestamp. A clock behind the
    feed's would give a negative figure: it is reported as 0."""
    if not isinstance(origin, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(origin)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    latency = (now_s - stamp.timestamp()) * 1000.0
    return max(0.0, latency) if math.isfinite(latency) else None
