"""Rooms and subscriptions: ``chain:{product}:{expiry}`` and ``underlying:{product}``."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from common.api.messages import validate_expiry
from common.messages import PRODUCT_PATTERN


def chain_room(product: str, expiry: str) -> str:
    return f"chain:{product}:{expiry}"


def underlying_room(product: str) -> str:
    return f"underlying:{product}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A product's underlying, and with an expiry its chain too."""

    product: str
    expiry: str | None = None

    @property
    def rooms(self) -> tuple[str, ...]:
        if self.expiry is None:
            return (underlying_room(self.product),)
        return (chain_room(self.product, self.expiry), underlying_room(self.product))


class SubscriptionSchema(Schema):
    """The payload of ``subscribe`` / ``unsubscribe``: ``{product, expiry?}``."""

    class Meta:
        unknown = EXCLUDE

    product = fields.String(required=True, validate=validate.Regexp(PRODUCT_PATTERN))
    expiry = fields.String(load_default=None, allow_none=True, validate=validate_expiry)

    @post_load
    def _make(self, data: dict[str, str | None], **_: object) -> Subscription:
        product = data["product"]
        assert product is not None  # required
        return Subscription(product, data.get("expiry"))


SUBSCRIPTION = SubscriptionSchema()
