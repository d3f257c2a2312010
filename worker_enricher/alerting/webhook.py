"""One webhook delivery attempt: the signed POST of a trigger to an address that was checked.

The body is the trigger document (orjson, compact); ``X-OptionsFlow-Trigger`` carries its
``trigger_id`` (receivers dedupe on it: a delivery may be repeated) and
``X-OptionsFlow-Signature`` is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." +
body)>``, the key being the alert's ``webhook_secret`` as text (:func:`sign`,
:func:`verify_signature`).

Server-side request forgery: the URL's host is resolved once, every address it gives must
be public (``alerts.destinations.public_address``) unless ``ALERT_WEBHOOK_ALLOW_PRIVATE``,
and the connection goes to the first of those addresses, never to the name again (a name
that answers a public address to the check and a private one to the connection, DNS
rebinding, gains nothing). The ``Host`` header and, for https, the SNI name and the
certificate's hostname check keep the name. Redirects are not followed; the response's body
is never read, only its status and headers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import orjson
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from alerts.destinations import WebhookUrlError, check_webhook_url, public_address

__all__ = [
    "MAX_BACKOFF_S",
    "SIGNATURE_HEADER",
    "TRIGGER_HEADER",
    "Attempt",
    "DestinationRefused",
    "Outcome",
    "Target",
    "WebhookSender",
    "backoff_s",
    "open_pool",
    "parse_retry_after",
    "resolve_addresses",
    "sign",
    "target_of",
    "verify_signature",
    "webhook_body",
]

SIGNATURE_HEADER = "X-OptionsFlow-Signature"
TRIGGER_HEADER = "X-OptionsFlow-Trigger"
USER_AGENT = "OptionsFlow-Webhook/1"

MAX_BACKOFF_S = 30.0
"""The longest wait between two attempts, a ``Retry-After`` included: a retry is a Celery
countdown held by a worker, and one held past the broker's visibility timeout (60 s) would
be handed to a second worker as well (``worker_enricher/celery_config.py``)."""

Resolve = Callable[[str, int], list[str]]
"""``(host, port)`` → the addresses the host resolves to, in the resolver's order."""


class Outcome(StrEnum):
    """How one attempt ended."""

    DELIVERED = "delivered"
    """A 2xx answer."""
    RETRY = "retry"
    """429, 5xx, a timeout, a connection or name-resolution error: try again later."""
    GIVE_UP = "give_up"
    """Any other status (a redirect included), or a refused destination."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """The end of one attempt: its outcome, the HTTP status (``None`` without an answer), the
    error (``None`` with an answer) and the ``Retry-After`` asked for, in seconds."""

    outcome: Outcome
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


class DestinationRefused(ValueError):  # noqa: N818  # reads as what happened
    """The webhook URL, or an address its host resolves to, may not be connected to."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt connects: ``address`` (checked), and the ``name`` the URL gave,
    which the ``Host`` header (``netloc``), SNI and the certificate check keep."""

    scheme: str
    name: str
    address: str
    port: int
    netloc: str
    path: str


def sign(secret: str, body: bytes, now: float) -> str:
    """The ``X-OptionsFlow-Signature`` value of ``body`` sent at ``now`` (unix seconds)."""
    t = int(now)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, now: float, tolerance_s: float = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance_s``
    seconds of ``now`` (unix seconds): what a receiver checks. Any of several ``v1`` values
    may match (a secret being rotated)."""
    t: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key == "t" and value.isascii() and value.isdigit():
            t = int(value)
        elif sep and key == "v1":
            macs.append(value)
    if t is None or not macs or abs(now - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, mac) for mac in macs)


def webhook_body(trigger: Mapping[str, Any]) -> bytes:
    """The POST body: the trigger document as compact JSON, keys in their given order."""
    return orjson.dumps(dict(trigger))


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``socket.getaddrinfo``, TCP), first seen first."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def target_of(url: str, *, allow_private: bool, resolve: Resolve) -> Target:
    """Check ``url`` and resolve its host once: the target to connect to, else
    :class:`DestinationRefused` (any address not public, unless ``allow_private``).
    ``OSError`` (``socket.gaierror``) when the name does not resolve."""
    try:
        check_webhook_url(url, allow_private=allow_private)
    except WebhookUrlError as exc:
        raise DestinationRefused(str(exc)) from None
    parts = urlsplit(url)
    name = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(name, port)
    if not addresses:
        raise DestinationRefused(f"{name} resolves to no address")
    refused = [a for a in addresses if not public_address(a)]
    if refused and not allow_private:
        raise DestinationRefused(f"{name} resolves to {refused[0]}, not a public address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, name, addresses[0], port, parts.netloc, path)


def open_pool(
    target: Target, timeout_s: float, ca_certs: str | None = None
) -> urllib3.HTTPConnectionPool:
    """A one-connection pool to ``target.address``; for https the SNI name and the
    certificate's hostname are ``target.name`` (verified against ``ca_certs``, default the
    system's CA store). No retries, no redirects; ``timeout_s`` bounds connect + read."""
    options: dict[str, Any] = {
        "port": target.port,
        "maxsize": 1,
        "retries": False,
        "timeout": urllib3.Timeout(total=timeout_s),
    }
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address, cert_reqs="CERT_REQUIRED", ca_certs=ca_certs,
            server_hostname=target.name, assert_hostname=target.name, **options,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(target.address, **options)


OpenPool = Callable[[Target, float], urllib3.HTTPConnectionPool]
"""``(target, timeout_s)`` → the pool one attempt posts through (:func:`open_pool`)."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` header as seconds from ``now`` (unix seconds): delta-seconds or an
    HTTP date; ``None`` when absent or unreadable, 0 for a date already past."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


def backoff_s(
    retry: int, base_s: float, rng: random.Random, retry_after_s: float | None = None
) -> float:
    """The wait before retry ``retry`` (0 for the first), seconds: drawn uniformly from
    ``[0, min(MAX_BACKOFF_S, base_s·2^retry)]`` (full jitter), or the receiver's
    ``Retry-After`` when it gave one, at most :data:`MAX_BACKOFF_S` either way."""
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), MAX_BACKOFF_S)
    ceiling = MAX_BACKOFF_S if retry >= 32 else min(MAX_BACKOFF_S, base_s * 2.0**retry)
    return rng.uniform(0.0, ceiling)


def _classify(status: int, retry_after: str | None, now: float) -> Attempt:
    if 200 <= status < 300:
        return Attempt(Outcome.DELIVERED, status=status)
    if status == 429 or status >= 500:
        return Attempt(
            Outcome.RETRY, status=status, retry_after_s=parse_retry_after(retry_after, now)
        )
    return Attempt(Outcome.GIVE_UP, status=status)


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """Sends one attempt (:meth:`send`) with the settings of ``settings.alerts``:
    ``timeout_s`` (``ALERT_WEBHOOK_TIMEOUT_S``) and ``allow_private``
    (``ALERT_WEBHOOK_ALLOW_PRIVATE``); ``resolve`` and ``connect`` are the name resolution
    and the pool (tests give their own)."""

    timeout_s: float
    allow_private: bool = False
    resolve: Resolve = resolve_addresses
    connect: OpenPool = open_pool

    def send(self, url: str, secret: str, trigger: Mapping[str, Any], now: float) -> Attempt:
        """POST ``trigger`` to ``url`` signed with ``secret`` at ``now`` (unix seconds)."""
        try:
            target = target_of(url, allow_private=self.allow_private, resolve=self.resolve)
        except DestinationRefused as exc:
            return Attempt(Outcome.GIVE_UP, error=f"refused: {exc}")
        except OSError as exc:  # the name does not resolve (now): perhaps later
            return Attempt(Outcome.RETRY, error=f"resolution failed: {exc}")
        body = webhook_body(trigger)
        headers = {
            "Host": target.netloc,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TRIGGER_HEADER: str(trigger.get("trigger_id", "")),
            SIGNATURE_HEADER: sign(secret, body, now),
        }
        return self._post(target, body, headers, now)

    def _post(self, target: Target, body: bytes, headers: dict[str, str], now: float) -> Attempt:
        pool = self.connect(target, self.timeout_s)
        try:
            response = pool.urlopen(
                "POST", target.path, body=body, headers=headers, retries=False, redirect=False,
                assert_same_host=False, preload_content=False, release_conn=False,
            )  # fmt: skip
            try:
                return _classify(response.status, response.headers.get("Retry-After"), now)
            finally:
                response.close()  # the body is never read
        except NewConnectionError as exc:  # a subclass of urllib3's TimeoutError, refused or not
            return Attempt(Outcome.RETRY, error=f"connection failed: {exc}")
        except TimeoutError as exc:
            return Attempt(Outcome.RETRY, error=f"timeout: {type(exc).__name__}: {exc}")
        except (HTTPError, OSError) as exc:
            return Attempt(Outcome.RETRY, error=f"connection failed: {type(exc).__name__}: {exc}")
        finally:
            pool.close()
