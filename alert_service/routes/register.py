"""A typed stand-in for flask-smorest's untyped ``route`` and ``arguments`` decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from marshmallow import Schema

from common.web.openapi import Blueprint

View = TypeVar("View", bound=Callable[..., Any])


def route(
    blp: Blueprint, method: str, rule: str, schema: type[Schema], location: str
) -> Callable[[View], View]:
    """Register ``method rule`` on ``blp``, the view taking its ``schema``-loaded
    ``location`` (``query`` or ``json``) first; unknown names are 422 (the strict parser)."""

    def register(view: View) -> View:
        # an instance: webargs would build one per request from a class
        blp.route(rule, methods=[method])(blp.arguments(schema(), location=location)(view))
        return view

    return register
