"""RS256 signing keys: loaded from configured PEM files, or generated once for development.

The key id (``kid``) is the RFC 7638 JWK thumbprint of the public key, so every
instance holding the same key pair publishes the same id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from common.settings import Settings, SettingsError
from common.tokens import ALGORITHM

KEY_BITS = 3072
MIN_KEY_BITS = 2048
PRIVATE_KEY_FILE = "private.pem"
PUBLIC_KEY_FILE = "public.pem"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 thumbprint: SHA-256 of the canonical ``{"e","kty","n"}`` JSON, base64url."""
    numbers = public_key.public_numbers()
    canonical = json.dumps(
        {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKeys:
    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey
    kid: str

    @classmethod
    def from_private_key(cls, private_key: rsa.RSAPrivateKey) -> SigningKeys:
        public_key = private_key.public_key()
        return cls(private_key, public_key, jwk_thumbprint(public_key))

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK with ``kid``, ``alg`` and ``use``."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWKS document served at ``/api/auth/jwks.json``."""
        return {"keys": [self.jwk()]}


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_public(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _read_private(path: Path, variable: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(
            f"{variable}: cannot read an RSA private key from {path}: {exc}"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SettingsError(f"{variable}: {path} is not an RSA private key")
    if key.key_size < MIN_KEY_BITS:
        raise SettingsError(f"{variable}: {path} has {key.key_size} bits, at least 2048 needed")
    return key


def _read_public(path: Path, variable: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"{variable}: cannot read an RSA public key from {path}: {exc}"
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SettingsError(f"{variable}: {path} is not an RSA public key")
    return key


def _load_configured(settings: Settings) -> SigningKeys:
    if settings.jwt_private_key_path is None:
        raise SettingsError(
            "JWT_PRIVATE_KEY_PATH: must be set when JWT_PUBLIC_KEY_PATH is "
            "(the service signs tokens)"
        )
    keys = SigningKeys.from_private_key(
        _read_private(settings.jwt_private_key_path, "JWT_PRIVATE_KEY_PATH")
    )
    if settings.jwt_public_key_path is not None:
        public = _read_public(settings.jwt_public_key_path, "JWT_PUBLIC_KEY_PATH")
        if public.public_numbers() != keys.public_key.public_numbers():
            raise SettingsError(
                "JWT_PUBLIC_KEY_PATH: the public key does not match JWT_PRIVATE_KEY_PATH"
            )
    return keys


def _write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` unless it exists (another process won the race): atomic."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _load_or_generate_dev(directory: Path) -> SigningKeys:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = directory / PRIVATE_KEY_FILE
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        _write_exclusive(private_path, _pem_private(key), 0o600)
    keys = SigningKeys.from_private_key(_read_private(private_path, "JWT_PRIVATE_KEY_PATH"))
    public_path = directory / PUBLIC_KEY_FILE
    if not public_path.exists():
        _write_exclusive(public_path, _pem_public(keys.public_key), 0o644)
    return keys


def load_or_create_keys(settings: Settings) -> SigningKeys:
    """The signing keys of this deployment.

    Configured paths are used when set (both checked to be a matching pair). Without
    them, development and test generate a key pair under ``{var_dir}/jwt`` on first
    run and reuse it afterwards; production refuses to start.
    """
    if settings.jwt_private_key_path is not None or settings.jwt_public_key_path is not None:
        return _load_configured(settings)
    if settings.is_production:
        raise SettingsError(
            "JWT_PRIVATE_KEY_PATH and JWT_PUBLIC_KEY_PATH must be set in production: "
            "development keys are never generated there (create an RSA key pair of at "
            "least 2048 bits and point both variables at its PEM files)"
        )
    return _load_or_generate_dev(settings.var_dir / "jwt")
