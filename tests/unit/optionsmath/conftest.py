"""Fixtures of the math tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.chains import build_chain


@pytest.fixture
def chain() -> dict[str, Any]:
    """A 21-strike NIFTY chain, bid = ask = last = the Black-Scholes price on a known smile."""
    return build_chain()
