"""Test clients: mongomock made to accept what pymongo 4.20 sends it."""

from __future__ import annotations

import mongomock
import pytest


def mongomock_client(monkeypatch: pytest.MonkeyPatch) -> mongomock.MongoClient:
    """A mongomock client that accepts pymongo >= 4.10's bulk replace requests.

    pymongo's ``ReplaceOne`` passes ``sort=None`` to the bulk builder, which
    mongomock 4.3 does not take; the store does not sort, so dropping it is exact.
    """
    builder = mongomock.collection.BulkOperationBuilder
    add_replace = builder.add_replace

    def add_replace_without_sort(
        self: object, *args: object, sort: object = None, **kw: object
    ) -> object:
        assert sort is None, "the store never sorts a replace"
        return add_replace(self, *args, **kw)

    monkeypatch.setattr(builder, "add_replace", add_replace_without_sort)
    return mongomock.MongoClient()
