"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf api_gateway.wsgi:app``."""

from __future__ import annotations

from api_gateway import create_app
from common.observability import setup_service
from common.settings import load_settings

settings = load_settings()
setup_service("api_gateway", settings)
app = create_app(settings)
