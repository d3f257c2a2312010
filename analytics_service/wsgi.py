"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf analytics_service.wsgi:app``."""

from __future__ import annotations

from analytics_service import SERVICE, create_app
from common.jsonlog import configure_logging
from common.settings import load_settings

settings = load_settings()
configure_logging(SERVICE, settings.log_level)
app = create_app(settings)
