"""Signing keys: generated once for development, configured in production, JWKS thumbprints."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from auth_service.keys import SigningKeys, jwk_thumbprint, load_or_create_keys
from auth_service.tokens import Role, TokenService, TokenType
from common.settings import Environment, Settings, SettingsError, load_settings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for name in ("ENV", "JWT_PRIVATE_KEY_PATH", "JWT_PUBLIC_KEY_PATH", "REDIS_URL", "STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    return load_settings()


def _write_pair(directory: Path, key: rsa.RSAPrivateKey) -> tuple[Path, Path]:
    private = directory / "k.pem"
    public = directory / "k.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_development_generates_on_first_run_and_reuses(settings: Settings) -> None:
    directory = settings.var_dir / "jwt"
    assert not directory.exists()
    first = load_or_create_keys(settings)
    private = directory / "private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert first.private_key.key_size == 3072
    assert sorted(p.name for p in directory.iterdir()) == ["private.pem", "public.pem"]
    before = private.read_bytes()
    second = load_or_create_keys(settings)
    assert second.kid == first.kid
    assert second.public_key.public_numbers() == first.public_key.public_numbers()
    assert private.read_bytes() == before
    public = serialization.load_pem_public_key((directory / "public.pem").read_bytes())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == first.public_key.public_numbers()


def test_production_refuses_without_keys(settings: Settings) -> None:
    prod = dataclasses.replace(settings, env=Environment.PRODUCTION)
    with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY_PATH and JWT_PUBLIC_KEY_PATH"):
        load_or_create_keys(prod)
    assert not (settings.var_dir / "jwt").exists()  # nothing generated


def test_production_refuses_unreadable_or_mismatched_keys(
    settings: Settings, tmp_path: Path
) -> None:
    private, public = _write_pair(tmp_path, rsa.generate_private_key(65537, 2048))
    (tmp_path / "other").mkdir()
    _, other_public = _write_pair(tmp_path / "other", rsa.generate_private_key(65537, 2048))
    prod = dataclasses.replace(settings, env=Environment.PRODUCTION)
    missing = dataclasses.replace(
        prod, jwt_private_key_path=tmp_path / "absent.pem", jwt_public_key_path=public
    )
    with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY_PATH: cannot read"):
        load_or_create_keys(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY_PATH: cannot read"):
        load_or_create_keys(dataclasses.replace(missing, jwt_private_key_path=garbage))
    mismatched = dataclasses.replace(
        prod, jwt_private_key_path=private, jwt_public_key_path=other_public
    )
    with pytest.raises(SettingsError, match="JWT_PUBLIC_KEY_PATH: the public key does not match"):
        load_or_create_keys(mismatched)
    only_public = dataclasses.replace(prod, jwt_public_key_path=public)
    with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY_PATH: must be set"):
        load_or_create_keys(only_public)


def test_production_accepts_configured_keys(settings: Settings, tmp_path: Path) -> None:
    key = rsa.generate_private_key(65537, 2048)
    private, public = _write_pair(tmp_path, key)
    prod = dataclasses.replace(
        settings,
        env=Environment.PRODUCTION,
        jwt_private_key_path=private,
        jwt_public_key_path=public,
    )
    keys = load_or_create_keys(prod)
    assert keys.public_key.public_numbers() == key.public_key().public_numbers()
    assert keys.kid == jwk_thumbprint(key.public_key())
    assert not (settings.var_dir / "jwt").exists()


def test_thumbprint_matches_rfc7638_example() -> None:
    # RFC 7638 section 3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
        "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZ"
        "u0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = RSAAlgorithm.from_jwk({"kty": "RSA", "n": n, "e": "AQAB"})
    assert isinstance(public, rsa.RSAPublicKey)
    assert jwk_thumbprint(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_round_trip_verifies_a_token(signing_keys: SigningKeys) -> None:
    document = signing_keys.jwks()
    assert len(document["keys"]) == 1
    jwk = document["keys"][0]
    assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["e"], jwk["alg"], jwk["use"]) == ("RSA", "AQAB", "RS256", "sig")
    assert jwk["kid"] == signing_keys.kid
    assert RSAAlgorithm.to_jwk(signing_keys.public_key, as_dict=True)["n"] == jwk["n"]

    token = TokenService(signing_keys).issue_access("alice", Role.USER)
    rebuilt = RSAAlgorithm.from_jwk(jwk)
    assert isinstance(rebuilt, rsa.RSAPublicKey)
    assert jwk_thumbprint(rebuilt) == jwt.get_unverified_header(token)["kid"]
    payload = jwt.decode(token, rebuilt, algorithms=["RS256"], issuer="optionsflow")
    assert (payload["sub"], payload["type"], payload["role"]) == ("alice", "access", "user")
    assert TokenService(signing_keys).verify(token, TokenType.ACCESS).sub == "alice"
