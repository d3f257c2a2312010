"""Test clients: mongomock made to accept what pymongo 4.20 sends it, and the live MongoDB
at ``MONGO_URL`` in a database of the test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import mongomock
import pytest
from pymongo import MongoClient

T = TypeVar("T")


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


def live_mongo(make: Callable[[MongoClient[dict[str, object]], str], T]) -> Iterator[T]:
    """``make(client, database)`` on the live MongoDB at ``MONGO_URL``, in a database of its
    own, dropped afterwards; the test is skipped without ``MONGO_URL``."""
    url = os.environ.get("MONGO_URL")
    if not url:
        pytest.skip("MONGO_URL is not set: no live MongoDB to run the contract against")
    name = f"optionsflow_test_{uuid.uuid4().hex[:12]}"
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        yield make(client, name)
    finally:
        client.drop_database(name)
        client.close()
