"""Fixtures: one RSA key pair per session (key generation is the slow part)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_service.keys import SigningKeys


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    return SigningKeys.from_private_key(rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="session")
def other_keys() -> SigningKeys:
    return SigningKeys.from_private_key(rsa.generate_private_key(65537, 2048))
