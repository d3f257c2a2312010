"""The HTTP routes of auth_service, one blueprint per resource, all under ``/auth``."""

from __future__ import annotations

from flask_smorest import Api

from auth_service.routes.keys import bp as keys_bp
from auth_service.routes.sessions import bp as sessions_bp
from auth_service.routes.users import bp as users_bp

BLUEPRINTS = (users_bp, sessions_bp, keys_bp)


def register_routes(api: Api) -> None:
    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
