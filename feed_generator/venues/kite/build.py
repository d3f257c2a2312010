"""``kite`` and ``kite-sim`` from the settings: what ``feed_generator.cli`` runs.

``kite`` connects to ``KITE_WS_URL`` / ``KITE_API_URL`` with the user's ``KITE_API_KEY`` and
access token (``KITE_ACCESS_TOKEN`` or ``KITE_ACCESS_TOKEN_FILE``; the settings refuse
``kite`` without them). ``kite-sim`` connects to the local simulator on ``KITE_SIM_PORT``
with the simulator's own key and token unless ``KITE_API_KEY`` / ``KITE_ACCESS_TOKEN`` are
set; ``KITE_ACCESS_TOKEN_FILE`` renews the token for both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from common.settings import KiteSettings
from feed_generator.venues.kite.client import Credentials
from feed_generator.venues.kite.connector import KiteVenue
from feed_generator.venues.kite.sim.faults import SIM_ACCESS_TOKEN, SIM_API_KEY
from feed_generator.venues.kite.token import TokenSource
from feed_generator.venues.rejects import Rejected

__all__ = ["build_kite"]

log = logging.getLogger(__name__)


def build_kite(
    settings: KiteSettings,
    name: str,
    on_reject: Callable[[str, Rejected], None] | None = None,
) -> KiteVenue:
    """The venue ``name`` (``kite`` or ``kite-sim``) as ``settings`` configure it."""
    key: str | None
    token: str | None
    if name == "kite-sim":
        ws_url, api_url = settings.sim_ws_url, settings.sim_api_url
        key = settings.api_key or SIM_API_KEY
        token = settings.access_token or SIM_ACCESS_TOKEN
    else:
        ws_url, api_url = settings.ws_url, settings.api_url
        key, token = settings.api_key, settings.access_token
    if key is None or token is None:  # the settings refuse kite without them
        raise ValueError(f"{name} needs KITE_API_KEY and KITE_ACCESS_TOKEN")
    tokens = TokenSource(Credentials(key, token), settings.access_token_file)
    log.info(
        "connecting",
        extra={"venue": name, "ws_url": ws_url, "api_url": api_url,
               "underlyings": list(settings.underlyings), "expiries": settings.expiries,
               "strikes_around": settings.strikes_around,
               "token_file": str(settings.access_token_file or "") or None},
    )  # fmt: skip
    return KiteVenue(
        api_url,
        ws_url,
        tokens,
        underlyings=settings.underlyings,
        expiries=settings.expiries,
        strikes_around=settings.strikes_around,
        name=name,
        on_reject=on_reject,
    )
