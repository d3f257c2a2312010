"""Where a webhook may go: an ``http(s)`` URL whose host is a public address.

A webhook's body reaches whatever its URL names, from inside the platform's network, so a
user must not be able to aim it at loopback, a private network, link-local metadata
endpoints or other non-public ranges (server-side request forgery). The URL is checked
when the alert is saved (:func:`check_webhook_url`: its form, and its host when that is an
address literal) and every address its name resolves to is checked again when it is sent
(:func:`public_address`), the connection going to the address checked. ``allow_private``
(``ALERT_WEBHOOK_ALLOW_PRIVATE``) lifts the address rule for tests and trusted networks.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["MAX_URL_LENGTH", "WebhookUrlError", "check_webhook_url", "public_address"]

MAX_URL_LENGTH = 2048

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
"""Carrier-grade NAT space: not global, though Python's ``is_private`` leaves it out."""


class WebhookUrlError(ValueError):
    """A webhook URL that is refused, and why."""


def public_address(address: str) -> bool:
    """Whether ``address`` (an IPv4 or IPv6 literal) is a public unicast address; an
    IPv4-mapped or 6to4/Teredo-wrapped IPv6 address is judged by the IPv4 inside."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone is link-local
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            return public_address(str(inner))
        if "%" in address:
            return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _literal(host: str) -> str | None:
    """``host`` as an address literal, or ``None`` when it is a name."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """``url`` when it may be a webhook's destination, else :class:`WebhookUrlError`: an
    absolute ``http``/``https`` URL without credentials, at most 2,048 characters, whose
    host, when an address literal, is public unless ``allow_private``. A host name is
    resolved and checked only when the webhook is sent (the name may move)."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise WebhookUrlError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port out of range
    except ValueError as exc:
        raise WebhookUrlError(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError("must be an http:// or https:// URL")
    host = parts.hostname
    if not host:
        raise WebhookUrlError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("must not carry credentials")
    if port == 0:
        raise WebhookUrlError("port 0 is not a destination")
    literal = _literal(host)
    if literal is not None and not allow_private and not public_address(literal):
        raise WebhookUrlError(f"{literal} is not a public address")
    if literal is None and not allow_private and host.rstrip(".").lower() in _LOCAL_NAMES:
        raise WebhookUrlError(f"{host} is a local name")
    return url


_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
