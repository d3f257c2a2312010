"""The browser dashboard: the built assets of ``dashboard/`` at ``/`` and its ``/config.json``.

Vite names every asset by its content hash, so ``/assets/*`` is cached for a
year; ``index.html`` is revalidated on every load so a new build is picked up.
The page finds the Socket.IO gateway through ``/config.json``: ``socket_url``
(``SOCKET_PUBLIC_URL``, e.g. the same origin behind an ingress) or, when that
is null, the page's own host on ``socket_port``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, send_from_directory

from common.settings import Settings
from common.web.errors import ApiError

DEFAULT_DIST = Path(__file__).resolve().parents[1] / "dashboard" / "dist"
_YEAR_S = 365 * 86_400


def dashboard_blueprint(settings: Settings, dist: Path = DEFAULT_DIST) -> Blueprint:
    bp = Blueprint("dashboard", __name__)

    def _built() -> Path:
        if not (dist / "index.html").is_file():
            raise ApiError(
                503,
                "the dashboard is not built: run `make up` (npm ci && npm run build in dashboard/)",
                code="unavailable",
            )
        return dist

    @bp.get("/")
    def index() -> Response:
        resp = send_from_directory(_built(), "index.html", max_age=0)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    @bp.get("/assets/<path:filename>")
    def assets(filename: str) -> Response:
        resp = send_from_directory(_built() / "assets", filename, max_age=_YEAR_S)
        resp.headers["Cache-Control"] = f"public, max-age={_YEAR_S}, immutable"
        return resp

    @bp.get("/config.json")
    def config() -> Response:
        return jsonify(socket_url=settings.socket.public_url, socket_port=settings.http.socket_port)

    return bp
