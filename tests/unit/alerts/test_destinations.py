"""Webhook destinations: only public addresses, only http(s), no credentials."""

from __future__ import annotations

import pytest

from alerts.destinations import WebhookUrlError, check_webhook_url, public_address


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("224.0.0.1", False),
        ("192.0.2.1", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
        ("2002:0a00:0001::", False),  # 6to4 around 10.0.0.1
        ("not an address", False),
    ],
)
def test_public_address(address: str, public: bool) -> None:
    assert public_address(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/optionsflow",
        "http://8.8.8.8:8080/x?y=1",
        "https://[2606:4700::1111]/",
    ],
)
def test_public_urls_are_kept(url: str) -> None:
    assert check_webhook_url(url, allow_private=False) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https:///path", "must name a host"),
        ("https://user:pw@example.com/", "credentials"),
        ("http://127.0.0.1:9000/", "127.0.0.1 is not a public address"),
        ("http://[::1]/", "::1 is not a public address"),
        ("http://169.254.169.254/latest/meta-data", "not a public address"),
        ("http://localhost:8000/", "local name"),
        ("http://LOCALHOST./", "local name"),
        ("https://example.com:99999/", "not a URL"),
        ("https://example.com:0/", "port 0"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/" + "a" * 2048, "2048"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(WebhookUrlError, match=reason.replace("?", r"\?")):
        check_webhook_url(url, allow_private=False)


def test_allow_private_lifts_only_the_address_rule() -> None:
    assert check_webhook_url("http://127.0.0.1:9000/hook", allow_private=True)
    assert check_webhook_url("http://localhost/", allow_private=True)
    with pytest.raises(WebhookUrlError, match="credentials"):
        check_webhook_url("http://u:p@127.0.0.1/", allow_private=True)
