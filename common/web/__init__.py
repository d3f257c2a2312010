"""What every OptionsFlow HTTP service shares: the base Flask app, errors, trace ids,
health and readiness, metrics and JSON responses."""

from __future__ import annotations

from common.web.app import create_base_app
from common.web.errors import ApiError
from common.web.responses import json_response, raw_json_response

__all__ = ["ApiError", "create_base_app", "json_response", "raw_json_response"]
