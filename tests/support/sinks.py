"""A sink for tests: keeps every batch it is sent (``feed_generator.publisher.Sink``)."""

from __future__ import annotations

from collections.abc import Sequence

from feed_generator.publisher import Encoded

__all__ = ["ListSink"]


class ListSink:
    """Records each batch, in order; :attr:`messages` flattens them."""

    def __init__(self) -> None:
        self.batches: list[list[Encoded]] = []

    def send(self, batch: Sequence[Encoded]) -> None:
        self.batches.append(list(batch))

    def close(self) -> None:
        pass

    @property
    def messages(self) -> list[Encoded]:
        return [m for batch in self.batches for m in batch]
