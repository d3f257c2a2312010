"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf storage_service.wsgi:app``."""

from __future__ import annotations

from common.jsonlog import configure_logging
from common.settings import load_settings
from storage_service import create_app

settings = load_settings()
configure_logging("storage_service", settings.log_level)
app = create_app(settings)
