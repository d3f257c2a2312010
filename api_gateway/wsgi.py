"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf api_gateway.wsgi:app``."""

from __future__ import annotations

from api_gateway import create_app
from common.jsonlog import configure_logging
from common.settings import load_settings

settings = load_settings()
configure_logging("api_gateway", settings.log_level)
app = create_app(settings)
