"""gunicorn entry point: ``gunicorn -c python:common.gunicorn_conf paper_service.wsgi:app``."""

from __future__ import annotations

from common.observability import setup_service
from common.settings import load_settings
from paper_service import SERVICE, create_app

settings = load_settings()
setup_service(SERVICE, settings)
app = create_app(settings)
