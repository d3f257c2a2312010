"""marshmallow schemas of the channel messages, derived from their msgspec structs.

The REST API answers the newest enriched chain and underlying with the exact
bytes of the messages; flask-smorest documents its answers with marshmallow
schemas. :func:`schema_of` builds those from the structs (``msgspec.inspect``),
constraints and descriptions included, so the OpenAPI document cannot drift
from the wire contract. They describe answers; nothing is loaded through them.
"""

from __future__ import annotations

import enum
import functools
from typing import Any

import msgspec
import msgspec.inspect as mi
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from common.messages import Wire
from common.timestamps import parse_expiry


class _Strict(Schema):
    class Meta:
        unknown = RAISE  # documented as additionalProperties: false


def validate_expiry(value: str) -> None:
    """marshmallow validator: an expiry date ``YYYY-MM-DD``."""
    try:
        parse_expiry(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def check_instrument_kind(data: dict[str, Any], what: str) -> None:
    """An option names its ``expiry`` and ``strike``; the underlying (``option_type`` null)
    names neither. ``ValidationError`` naming the field; ``what`` is the thing checked
    (``leg``, ``order``): "Required for a CALL leg."."""
    if data["option_type"] is None:
        for name in ("expiry", "strike"):
            if data[name] is not None:
                raise ValidationError("Must be null for the underlying (option_type null).", name)
        return
    for name in ("expiry", "strike"):
        if data[name] is None:
            raise ValidationError(f"Required for a {data['option_type']} {what}.", name)


class Quantity(fields.Float):
    """A number that is an integer or a fraction (volume, open interest): a JSON ``number``
    in the OpenAPI document; an ``int`` is kept an ``int`` (``100``, not ``100.0``), anything
    else becomes a ``float``; strings, booleans, NaN and infinities are refused."""

    def _format_num(self, value: Any) -> float:
        # int is a float's subtype for typing (PEP 484): the int goes out unchanged
        return value if isinstance(value, int) and not isinstance(value, bool) else float(value)

    def _validated(self, value: Any) -> float:
        if not isinstance(value, int | float):  # strict, as the struct: no numeric strings
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def _range(kind: mi.FloatType | mi.IntType) -> list[validate.Validator]:
    low = kind.ge if kind.gt is None else kind.gt
    high = kind.le if kind.lt is None else kind.lt
    if low is None and high is None:
        return []
    return [
        validate.Range(
            min=low, max=high, min_inclusive=kind.gt is None, max_inclusive=kind.lt is None
        )
    ]


def _length(kind: mi.StrType | mi.ListType) -> list[validate.Validator]:
    if kind.min_length is None and kind.max_length is None:
        return []
    return [validate.Length(min=kind.min_length, max=kind.max_length)]


def _field(kind: mi.Type, **options: Any) -> fields.Field[Any]:
    """The marshmallow field of one msgspec type (options: required, allow_none, metadata)."""
    if isinstance(kind, mi.Metadata):
        described = dict(options.pop("metadata", {}))
        described.update(kind.extra_json_schema or {})
        return _field(kind.type, metadata=described, **options)
    if isinstance(kind, mi.UnionType):
        inner = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        if len(inner) < len(kind.types):
            options["allow_none"] = True
        if len(inner) == 1:
            return _field(inner[0], **options)
        number = [t for t in inner if isinstance(t, mi.FloatType)]
        if len(number) == 1 and all(isinstance(t, mi.IntType | mi.FloatType) for t in inner):
            return Quantity(validate=_range(number[0]), **options)  # int | float
        raise TypeError(f"no marshmallow field for {kind!r}")
    if isinstance(kind, mi.StrType):
        checks = _length(kind)
        if kind.pattern is not None:
            checks.append(validate.Regexp(kind.pattern))
        return fields.String(validate=checks, **options)
    if isinstance(kind, mi.BoolType):
        return fields.Boolean(**options)
    if isinstance(kind, mi.FloatType):
        return fields.Float(validate=_range(kind), **options)
    if isinstance(kind, mi.IntType):
        return fields.Integer(strict=True, validate=_range(kind), **options)
    if isinstance(kind, mi.LiteralType):
        return fields.String(validate=validate.OneOf(kind.values), **options)
    if isinstance(kind, mi.EnumType):
        values = [member.value for member in kind.cls if isinstance(member, enum.Enum)]
        return fields.String(validate=validate.OneOf(values), **options)
    if isinstance(kind, mi.ListType):
        return fields.List(_field(kind.item_type), validate=_length(kind), **options)
    if isinstance(kind, mi.StructType):
        return fields.Nested(schema_of(kind.cls), **options)
    raise TypeError(f"no marshmallow field for {kind!r}")


@functools.cache
def schema_of(struct: type[Wire] | type[msgspec.Struct]) -> type[Schema]:
    """The marshmallow schema ``<Struct>Schema`` of ``struct`` (one class per struct, so the
    OpenAPI document names each once)."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    declared = {
        field.encode_name: _field(field.type, required=field.required) for field in info.fields
    }
    schema: type[Schema] = type(
        f"{struct.__name__}Schema",
        (_Strict,),
        {**declared, "__doc__": struct.__doc__, "__module__": __name__},
    )
    return schema


def response_schema(
    struct: type[Wire], name: str, doc: str, **extra: fields.Field[Any]
) -> type[Schema]:
    """A REST answer ``name`` that is the message ``struct`` plus ``extra`` fields."""
    answer: type[Schema] = type(
        name, (schema_of(struct),), {**extra, "__doc__": doc, "__module__": __name__}
    )
    return answer
