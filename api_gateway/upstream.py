"""Pooled keep-alive HTTP calls from the gateway to the services (urllib3).

One connection pool per service, sized to the gateway's threads; a connection
the service closed while idle is retried once for idempotent methods. Failures
become error answers: 504 when the service is too slow, 502 when it cannot be
reached.

Every call carries the service credential (``SERVICE_TOKEN``, from the app's settings) the
internal services require (:mod:`common.web.servicecred`): forwarded routes, the JWKS fetch
and the readiness checks alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import urllib3
from flask import current_app, has_app_context
from urllib3.exceptions import HTTPError, TimeoutError
from urllib3.util import Retry, Timeout

from common.api.routes import Upstream
from common.settings import Settings
from common.web.errors import ApiError
from common.web.servicecred import credential_headers

log = logging.getLogger(__name__)

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]


class Upstreams:
    """HTTP connection pools to the services, one per :class:`Upstream`."""

    def __init__(self, urls: Mapping[Upstream, str], *, timeout_s: float, pool_size: int) -> None:
        timeout = Timeout(connect=min(1.0, timeout_s), read=timeout_s)
        self._pools = {
            name: urllib3.connection_from_url(
                url, maxsize=pool_size, block=False, timeout=timeout, retries=False
            )
            for name, url in urls.items()
        }
        self.urls = dict(urls)

    def call(
        self,
        upstream: Upstream,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> UpstreamResponse:
        """Send one request; :class:`ApiError` 502/504 when the service fails to answer."""
        retries = Retry(
            total=1,
            connect=1,
            read=1 if method in _IDEMPOTENT else 0,
            redirect=0,
            status=0,
            other=0,
            raise_on_status=False,
        )
        try:
            resp = self._pools[upstream].urlopen(
                method,
                path,
                body=body,
                headers={**headers, **credential_headers(_service_token())},
                retries=retries,
                redirect=False,
                preload_content=True,
                assert_same_host=False,
            )
        except TimeoutError as exc:
            log.warning("upstream timeout", extra={"upstream": upstream, "path": path})
            raise ApiError(504, f"{upstream} service timed out", code="upstream_timeout") from exc
        except HTTPError as exc:
            log.warning(
                "upstream unreachable",
                extra={"upstream": upstream, "path": path, "error": str(exc)},
            )
            raise ApiError(
                502,
                f"{upstream} service unavailable",
                code="upstream_unavailable",
                headers={"Retry-After": "1"},
            ) from exc
        return UpstreamResponse(resp.status, resp.data, resp.headers)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


def _service_token() -> str | None:
    """The app's ``SERVICE_TOKEN``: every gateway call is made while it serves a request."""
    if not has_app_context():
        return None
    settings: Settings | None = current_app.config.get("SETTINGS")
    return settings.trust.service_token if settings is not None else None
