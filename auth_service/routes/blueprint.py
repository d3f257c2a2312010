"""The common flask-smorest :class:`Blueprint` with typed decorators.

flask-smorest is untyped, so its decorators would make every view untyped under
mypy strict; these overrides only add signatures (behaviour is the parent's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from marshmallow import Schema

from common.web.openapi import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


class AuthBlueprint(Blueprint):
    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], super().route(rule, **options))

    def arguments(self, schema: type[Schema] | Schema, **options: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], super().arguments(schema, **options))

    def response(
        self, status_code: int, schema: type[Schema] | Schema | None = None, **options: Any
    ) -> Callable[[F], F]:
        return cast(Callable[[F], F], super().response(status_code, schema, **options))
