"""Load shedding: past ``threshold`` requests in flight in this process, heavy routes
(history, analytics) answer 503 with ``Retry-After`` at once, so the threads left
keep serving latest data and auth.

The count is per gunicorn worker process, compared with its thread count: the
threshold reserves ``threads - threshold`` threads for live routes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from flask import Flask, g, request
from prometheus_client import Counter, Gauge

from common.api.routes import Priority, RouteSpec
from common.web.errors import ApiError

SHED = Counter("optionsflow_gateway_shed_total", "Requests answered 503 by load shedding.")
IN_FLIGHT = Gauge(
    "optionsflow_gateway_in_flight", "Requests in flight per gateway process.",
    multiprocess_mode="livesum",
)  # fmt: skip


class InFlight:
    """A thread-safe counter of requests being served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def enter(self) -> int:
        with self._lock:
            self.value += 1
            return self.value

    def leave(self) -> None:
        with self._lock:
            self.value -= 1


def install_shedding(app: Flask, routes: Mapping[str, RouteSpec], threshold: int) -> InFlight:
    in_flight = InFlight()

    @app.before_request
    def _admit() -> None:
        count = in_flight.enter()
        g.in_flight = True
        IN_FLIGHT.inc()
        spec = routes.get(request.endpoint or "")
        if spec is not None and spec.priority is Priority.HEAVY and count > threshold:
            SHED.inc()
            raise ApiError(
                503,
                "overloaded: try again shortly",
                code="overloaded",
                headers={"Retry-After": "1"},
            )

    @app.teardown_request
    def _leave(_exc: BaseException | None) -> None:
        if g.pop("in_flight", False):
            in_flight.leave()
            IN_FLIGHT.dec()

    return in_flight
