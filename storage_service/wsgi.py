"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf storage_service.wsgi:app``."""

from __future__ import annotations

from common.observability import setup_service
from common.settings import load_settings
from storage_service import create_app

settings = load_settings()
setup_service("storage_service", settings)
app = create_app(settings)
