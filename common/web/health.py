"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer).

Both are answered to anyone (the orchestrator's probes send no credential,
``common/web/servicecred.py``), so ``/readyz`` names each failing check and the kind of
failure (the exception's class) only; the exception's text is logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from flask import Blueprint, Response

from common.web.responses import json_response

log = logging.getLogger(__name__)

Check = Callable[[], object]
"""Returns when the dependency answers, raises otherwise."""


def health_blueprint(checks: Mapping[str, Check]) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok"})

    @bp.get("/readyz")
    def readyz() -> Response:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                check()
            except Exception as exc:  # any failure means not ready; say which, and why in the log
                # The exception's text can name hosts, ports, paths or a URL with credentials:
                # it goes to the log only; the probe sees the kind of failure.
                results[name] = f"error: {type(exc).__name__}"
                log.warning(
                    "readiness check failed",
                    extra={"check": name, "error": f"{type(exc).__name__}: {exc}"[:500]},
                )
            else:
                results[name] = "ok"
        ready = all(v == "ok" for v in results.values())
        return json_response(
            {"status": "ready" if ready else "unavailable", "checks": results},
            200 if ready else 503,
        )

    return bp
