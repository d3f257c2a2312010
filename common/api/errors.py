"""The error body every service and the gateway answer with."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    field_errors = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Field name → messages; empty when no field is at fault."},
    )
    trace_id = fields.String(metadata={"description": "The request's X-Trace-ID."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
