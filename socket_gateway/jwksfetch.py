"""auth_service's JWKS, fetched over HTTP for the connect-time token check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
import urllib3

from common.settings import Settings


def jwks_fetcher(settings: Settings) -> Callable[[], Mapping[str, Any]]:
    url = settings.http.auth_url + "/auth/jwks.json"
    http = urllib3.PoolManager(
        num_pools=1, maxsize=2, timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False
    )

    def fetch() -> Mapping[str, Any]:
        answer = http.request("GET", url, headers={"Accept": "application/json"})
        if answer.status != 200:
            raise RuntimeError(f"JWKS answered {answer.status}")
        document = orjson.loads(answer.data)
        if not isinstance(document, dict):
            raise RuntimeError("JWKS is not a JSON object")
        return document

    return fetch
