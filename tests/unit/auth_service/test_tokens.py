"""Token issue and verification: claims, lifetimes, and every way a forged token is rejected."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from auth_service.keys import SigningKeys
from auth_service.tokens import (
    Role,
    TokenError,
    TokenExpiredError,
    TokenMalformedError,
    TokenService,
    TokenSignatureError,
    TokenType,
    TokenTypeError,
)

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, object], payload: dict[str, object]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


@pytest.fixture
def tokens(signing_keys: SigningKeys) -> TokenService:
    return TokenService(signing_keys, clock=lambda: NOW)


def test_access_token_claims(tokens: TokenService, signing_keys: SigningKeys) -> None:
    token = tokens.issue_access("alice", Role.ADMIN)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": signing_keys.kid, "typ": "JWT"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "sub", "role", "type", "iat", "exp", "jti"}
    assert payload["iss"] == "optionsflow"
    assert payload["iat"] == int(NOW.timestamp())
    assert payload["exp"] - payload["iat"] == 15 * 60
    claims = tokens.verify(token, TokenType.ACCESS)
    assert (claims.sub, claims.role, claims.type) == ("alice", Role.ADMIN, TokenType.ACCESS)
    assert claims.jti == payload["jti"]
    assert len(claims.jti) == 32
    assert claims.family is None
    assert (
        tokens.verify(tokens.issue_access("alice", Role.ADMIN), TokenType.ACCESS).jti != claims.jti
    )


def test_refresh_token_claims_and_family(tokens: TokenService) -> None:
    first = tokens.verify(tokens.issue_refresh("bob", Role.USER), TokenType.REFRESH)
    assert first.type is TokenType.REFRESH
    assert first.role is Role.USER
    assert first.exp - first.iat == 7 * 86_400
    assert first.family is not None
    assert len(first.family) == 32
    child = tokens.verify(
        tokens.issue_refresh("bob", Role.USER, family=first.family), TokenType.REFRESH
    )
    assert child.family == first.family
    assert child.jti != first.jti


def test_expired_token_rejected(signing_keys: SigningKeys) -> None:
    tokens = TokenService(signing_keys)  # real clock
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    old = tokens.issue_access("alice", Role.USER, now=past)
    with pytest.raises(TokenExpiredError, match="token expired"):
        tokens.verify(old, TokenType.ACCESS)
    just_valid = tokens.issue_access("alice", Role.USER, now=past + dt.timedelta(minutes=2))
    assert tokens.verify(just_valid, TokenType.ACCESS).sub == "alice"
    # The same token at its exact expiry instant is expired (exp is exclusive).
    at_exp = TokenService(signing_keys, clock=lambda: past + dt.timedelta(minutes=15))
    with pytest.raises(TokenExpiredError):
        at_exp.verify(old, TokenType.ACCESS)


def test_tampered_payload_rejected(tokens: TokenService) -> None:
    header, payload, signature = tokens.issue_access("alice", Role.USER).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(TokenSignatureError, match="bad signature"):
        tokens.verify(forged, TokenType.ACCESS)


def test_wrong_key_rejected(
    tokens: TokenService, signing_keys: SigningKeys, other_keys: SigningKeys
) -> None:
    theirs = TokenService(other_keys, clock=lambda: NOW).issue_access("alice", Role.ADMIN)
    with pytest.raises(TokenSignatureError, match="unknown key id"):
        tokens.verify(theirs, TokenType.ACCESS)
    # Signed with another key but claiming our kid: the signature check catches it.
    payload = jwt.decode(theirs, options={"verify_signature": False})
    spoofed = jwt.encode(
        payload, other_keys.private_key, algorithm="RS256", headers={"kid": signing_keys.kid}
    )
    with pytest.raises(TokenSignatureError, match="bad signature"):
        tokens.verify(spoofed, TokenType.ACCESS)


def test_alg_none_rejected(tokens: TokenService, signing_keys: SigningKeys) -> None:
    payload = jwt.decode(
        tokens.issue_access("alice", Role.USER), options={"verify_signature": False}
    )
    unsigned = _segments({"alg": "none", "typ": "JWT", "kid": signing_keys.kid}, payload) + "."
    with pytest.raises(TokenSignatureError, match="algorithm not allowed"):
        tokens.verify(unsigned, TokenType.ACCESS)
    # Even with the header claiming RS256, an empty signature fails.
    empty = _segments({"alg": "RS256", "typ": "JWT", "kid": signing_keys.kid}, payload) + "."
    with pytest.raises(TokenError):
        tokens.verify(empty, TokenType.ACCESS)


def test_hs256_signed_with_public_key_rejected(
    tokens: TokenService, signing_keys: SigningKeys
) -> None:
    pem = signing_keys.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = jwt.decode(
        tokens.issue_access("eve", Role.ADMIN), options={"verify_signature": False}
    )
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": signing_keys.kid}, payload)
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(TokenSignatureError, match="algorithm not allowed"):
        tokens.verify(f"{signing_input}.{_b64(mac)}", TokenType.ACCESS)


def test_wrong_type_rejected(tokens: TokenService) -> None:
    refresh = tokens.issue_refresh("alice", Role.USER)
    with pytest.raises(TokenTypeError, match="wrong token type: expected access"):
        tokens.verify(refresh, TokenType.ACCESS)
    with pytest.raises(TokenTypeError, match="expected refresh"):
        tokens.verify(tokens.issue_access("alice", Role.USER), TokenType.REFRESH)


def test_missing_kid_rejected(tokens: TokenService, signing_keys: SigningKeys) -> None:
    payload = jwt.decode(
        tokens.issue_access("alice", Role.USER), options={"verify_signature": False}
    )
    no_kid = jwt.encode(payload, signing_keys.private_key, algorithm="RS256")
    with pytest.raises(TokenMalformedError, match="missing key id"):
        tokens.verify(no_kid, TokenType.ACCESS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iss": "someone-else"}, "wrong issuer"),
        ({"role": "root"}, "malformed token"),
        ({"sub": ""}, "malformed token"),
        ({"jti": None}, "malformed token"),
    ],
)
def test_bad_claims_rejected(
    tokens: TokenService, signing_keys: SigningKeys, change: dict[str, object], message: str
) -> None:
    payload = jwt.decode(
        tokens.issue_access("alice", Role.USER), options={"verify_signature": False}
    )
    payload.update(change)
    token = jwt.encode(
        payload, signing_keys.private_key, algorithm="RS256", headers={"kid": signing_keys.kid}
    )
    with pytest.raises(TokenMalformedError, match=message):
        tokens.verify(token, TokenType.ACCESS)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "x" * 50])
def test_garbage_is_malformed(tokens: TokenService, garbage: str) -> None:
    with pytest.raises(TokenMalformedError):
        tokens.verify(garbage, TokenType.ACCESS)
