"""What every venue parser returns for input that must not be published: a reason and an excerpt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame (or row) that must not be published: ``reason`` and the start of the input."""

    reason: str
    excerpt: str
