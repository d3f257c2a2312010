"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf alert_service.wsgi:app``."""

from __future__ import annotations

from alert_service import SERVICE, create_app
from common.observability import setup_service
from common.settings import load_settings

settings = load_settings()
setup_service(SERVICE, settings)
app = create_app(settings)
