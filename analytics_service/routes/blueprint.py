"""The analytics blueprint: flask-smorest's strict one with a typed GET decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from marshmallow import Schema

from common.web.openapi import Blueprint

View = TypeVar("View", bound=Callable[..., Any])


class AnalyticsBlueprint(Blueprint):
    """Routes under ``/analytics``; views take their validated query arguments first."""

    def __init__(self, name: str, import_name: str) -> None:
        super().__init__(name, import_name, url_prefix="/analytics")

    def get_with(self, rule: str, query: type[Schema]) -> Callable[[View], View]:
        """Register a GET view whose query is loaded with ``query`` (unknown names: 422).

        A typed stand-in for flask-smorest's untyped ``route`` and ``arguments``.
        """

        def register(view: View) -> View:
            # an instance: webargs would build one per request from a class
            self.route(rule, methods=["GET"])(self.arguments(query(), location="query")(view))
            return view

        return register
