"""Identifiers derived from what identifies the thing, so a retry derives the same one.

An order's id is a digest of (owner, client_order_id): the same request again names the
same order, whichever process handles it. A fill's id is its order's id and its number
among the order's fills; a settlement's, a digest of (owner, instrument). Stored under
unique indexes, a repeated write of any of them is a no-op, never a second document.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["basket_id", "fill_id", "order_id", "settlement_id"]


def _digest(prefix: str, *parts: str) -> str:
    """``prefix`` + 22 base64url characters of SHA-256 over the length-prefixed parts (so
    no two part lists give the same input)."""
    data = "".join(f"{len(part)}:{part}" for part in parts).encode()
    raw = hashlib.sha256(data).digest()[:16]
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def order_id(owner: str, client_order_id: str) -> str:
    """``po_…``: the order that ``owner``'s ``client_order_id`` names."""
    return _digest("po_", owner, client_order_id)


def basket_id(owner: str, first_client_order_id: str) -> str:
    """``pb_…``: the basket whose first leg has ``first_client_order_id``."""
    return _digest("pb_", owner, first_client_order_id)


def fill_id(order: str, number: int) -> str:
    """The ``number``-th fill (1, 2, …) of order ``order``: ``po_….000001``."""
    return f"{order}.{number:06d}"


def settlement_id(owner: str, instrument_key: str) -> str:
    """``ps_…``: the settlement of ``owner``'s position in the instrument (once: an
    instrument expires once)."""
    return _digest("ps_", owner, instrument_key)
