"""auth_service's JWKS, fetched over HTTP for the connect-time token check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
import urllib3

from common.settings import Settings
from common.web.servicecred import credential_headers


def jwks_fetcher(settings: Settings) -> Callable[[], Mapping[str, Any]]:
    url = settings.http.auth_url + "/auth/jwks.json"
    # auth_service answers only callers with the service credential (common/web/servicecred).
    headers = {"Accept": "application/json", **credential_headers(settings.trust.service_token)}
    http = urllib3.PoolManager(
        num_pools=1, maxsize=2, timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False
    )

    def fetch() -> Mapping[str, Any]:
        answer = http.request("GET", url, headers=headers)
        if answer.status != 200:
            raise RuntimeError(f"JWKS answered {answer.status}")
        document = orjson.loads(answer.data)
        if not isinstance(document, dict):
            raise RuntimeError("JWKS is not a JSON object")
        return document

    return fetch
