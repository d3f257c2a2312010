"""Webhook attempts against a real HTTP(S) server on 127.0.0.1: body, headers and signature
exact; outcomes by status; timeouts; the address rule at send time (nothing connected when
refused) and the connection going to the address checked, not to the name again."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import random
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import urllib3

from tests.support.hooks import Reply, make_tls_files, receiver
from tests.support.processes import free_port
from worker_enricher.alerting.webhook import (
    MAX_BACKOFF_S,
    Attempt,
    DestinationRefused,
    Outcome,
    Target,
    WebhookSender,
    backoff_s,
    open_pool,
    parse_retry_after,
    resolve_addresses,
    sign,
    target_of,
    verify_signature,
    webhook_body,
)

NOW = 1_796_550_060.4  # 2026-12-06T09:41:00.4Z, unix seconds
SECRET = "9f" * 32
TRIGGER: dict[str, Any] = {
    "trigger_id": "0123456789abcdef0123456789abcdef",
    "alert_id": "al_AAAAAAAAAAAAAAAAAAAAAA",
    "owner": "u1",
    "product": "NIFTY",
    "expiry": "2026-12-31",
    "metric": "iv",
    "op": "crosses_above",
    "strike": 24000.0,
    "option_type": "CE",
    "value": 0.2531,
    "threshold": 0.25,
    "timestamp": "2026-12-06T09:41:00.123Z",
    "triggered_at": "2026-12-06T09:41:00.140Z",
    "note": None,
}
BODY = (
    b'{"trigger_id":"0123456789abcdef0123456789abcdef","alert_id":"al_AAAAAAAAAAAAAAAAAAAAAA",'
    b'"owner":"u1","product":"NIFTY","expiry":"2026-12-31","metric":"iv",'
    b'"op":"crosses_above","strike":24000.0,"option_type":"CE","value":0.2531,'
    b'"threshold":0.25,"timestamp":"2026-12-06T09:41:00.123Z",'
    b'"triggered_at":"2026-12-06T09:41:00.140Z","note":null}'
)
PUBLIC = "93.184.216.34"


def resolver(*answers: list[str]) -> tuple[Callable[[str, int], list[str]], list[tuple[str, int]]]:
    """A resolver giving ``answers`` in turn (the last one again), and its calls."""
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(answers[min(len(calls), len(answers)) - 1])

    return resolve, calls


def local() -> Callable[[str, int], list[str]]:
    """Every name resolves to loopback, where the test's server listens."""
    return resolver(["127.0.0.1"])[0]


def sender(**kwargs: Any) -> WebhookSender:
    return WebhookSender(**({"timeout_s": 2.0, "allow_private": True, "resolve": local()} | kwargs))


# -- signature ------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_t_dot_body_with_the_secret_as_text() -> None:
    body = b'{"trigger_id":"t1","value":0.2531}'
    # openssl: printf '1700000000.<body>' | openssl dgst -sha256 -hmac 'k3y'
    assert sign("k3y", body, 1_700_000_000.9) == (
        "t=1700000000,v1=a39d40addc628d7321f78002b4afa865f0dac4ab1f529d7ad8bd1f59b3083b5f"
    )


def test_verify_signature_accepts_its_own_within_the_tolerance_only() -> None:
    header = sign(SECRET, BODY, NOW)  # t = 1796550060
    assert verify_signature(SECRET, header, BODY, NOW)
    assert verify_signature(SECRET, header, BODY, 1_796_550_060 + 300)
    assert not verify_signature(SECRET, header, BODY, 1_796_550_060 + 301)
    assert not verify_signature(SECRET, header, BODY, 1_796_550_060 - 301)  # from the future
    assert verify_signature(SECRET, header, BODY, 1_796_550_060 + 600, tolerance_s=600)
    assert not verify_signature("a" + SECRET[1:], header, BODY, NOW)
    assert not verify_signature(SECRET, header, BODY.replace(b"0.2531", b"0.2532"), NOW)


def test_verify_signature_takes_any_of_several_v1_and_refuses_malformed_headers() -> None:
    good = sign(SECRET, BODY, NOW).split(",")[1]
    assert verify_signature(SECRET, f"t=1796550060,v1={'0' * 64},{good}", BODY, NOW)
    assert verify_signature(SECRET, f" t=1796550060 , {good}", BODY, NOW)
    for header in ("", "t=1796550060", good, f"t=abc,{good}", f"t=-1796550060,{good}",
                   f"t=1796550061,{good}", "garbage", f"t=\u00b2,{good}"):  # fmt: skip
        assert not verify_signature(SECRET, header, BODY, NOW), header


# -- body, retry-after, backoff -------------------------------------------------------------


def test_the_body_is_the_trigger_as_compact_json_in_its_order() -> None:
    assert webhook_body(TRIGGER) == BODY


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(" 120 ", NOW) == 120.0
    later = email.utils.formatdate(1_796_550_070, usegmt=True)  # 9.6 s after NOW
    assert later == "Sun, 06 Dec 2026 09:41:10 GMT"
    assert parse_retry_after(later, NOW) == pytest.approx(9.6)
    assert parse_retry_after("Sun, 06 Dec 2026 09:40:00 GMT", NOW) == 0.0  # past
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("-3", NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("\u00b2", NOW) is None  # a digit to str.isdigit, not to float


class Highest(random.Random):
    """Draws the top of every range, so the ceiling shows."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_doubles_from_the_base_up_to_the_cap_with_full_jitter() -> None:
    assert [backoff_s(n, 1.0, Highest()) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert [backoff_s(n, 0.5, Highest()) for n in (0, 3, 200)] == [0.5, 4.0, 30.0]
    draws = [backoff_s(4, 1.0, random.Random(seed)) for seed in range(200)]
    assert all(0.0 <= d <= 16.0 for d in draws)
    assert min(draws) < 2.0
    assert max(draws) > 14.0
    assert MAX_BACKOFF_S == 30.0  # under the broker's visibility timeout of 60 s


def test_a_retry_after_is_honoured_up_to_the_cap() -> None:
    assert backoff_s(0, 1.0, Highest(), retry_after_s=7.0) == 7.0
    assert backoff_s(0, 1.0, Highest(), retry_after_s=120.0) == 30.0
    assert backoff_s(5, 1.0, Highest(), retry_after_s=0.0) == 0.0


# -- the destination ------------------------------------------------------------------------


def test_the_target_keeps_the_name_and_connects_to_the_address() -> None:
    resolve, calls = resolver([PUBLIC])
    target = target_of("https://Hooks.Example.com/in/x?k=1", allow_private=False, resolve=resolve)
    assert target == Target("https", "hooks.example.com", PUBLIC, 443, "Hooks.Example.com",
                            "/in/x?k=1")  # fmt: skip
    assert calls == [("hooks.example.com", 443)]
    target = target_of("http://hooks.example.com:8080", allow_private=False, resolve=resolve)
    assert (target.port, target.netloc, target.path) == (8080, "hooks.example.com:8080", "/")


@pytest.mark.parametrize(
    ("url", "answer", "reason"),
    [
        ("http://127.0.0.1:8080/", ["127.0.0.1"], "127.0.0.1 is not a public address"),
        ("http://[::1]/", ["::1"], "::1 is not a public address"),
        ("http://localhost/", ["127.0.0.1"], "localhost is a local name"),
        ("http://hooks.test/", ["10.1.2.3"], "hooks.test resolves to 10.1.2.3, not a public"),
        ("http://hooks.test/", [PUBLIC, "192.168.1.5"], "resolves to 192.168.1.5, not a"),
        ("http://hooks.test/", ["::ffff:127.0.0.1"], "resolves to ::ffff:127.0.0.1, not"),
        ("http://hooks.test/", ["169.254.169.254"], "resolves to 169.254.169.254, not a"),
        ("http://hooks.test/", ["100.64.0.1"], "resolves to 100.64.0.1, not a public"),
        ("http://hooks.test/", [], "hooks.test resolves to no address"),
        ("ftp://hooks.test/", [PUBLIC], "must be an http:// or https:// URL"),
        ("http://user:pw@hooks.test/", [PUBLIC], "must not carry credentials"),
    ],
)
def test_a_destination_not_public_is_refused(url: str, answer: list[str], reason: str) -> None:
    resolve, _ = resolver(answer)
    with pytest.raises(DestinationRefused, match=reason.replace(".", r"\.")):
        target_of(url, allow_private=False, resolve=resolve)


def test_allow_private_lets_any_address_through() -> None:
    resolve, _ = resolver(["10.1.2.3", PUBLIC])
    assert target_of("http://hooks.test/", allow_private=True, resolve=resolve).address == (
        "10.1.2.3"
    )


def test_the_system_resolver_answers_address_literals_without_the_network() -> None:
    assert resolve_addresses("127.0.0.1", 80) == ["127.0.0.1"]
    assert resolve_addresses("::1", 443) == ["::1"]


def test_an_https_pool_goes_to_the_address_with_the_name_for_sni_and_the_certificate() -> None:
    target = Target("https", "hooks.example.com", PUBLIC, 8443, "hooks.example.com:8443", "/")
    pool = open_pool(target, 4.0)
    try:
        assert isinstance(pool, urllib3.HTTPSConnectionPool)
        assert (pool.host, pool.port) == (PUBLIC, 8443)
        assert pool.conn_kw["server_hostname"] == "hooks.example.com"
        assert pool.assert_hostname == "hooks.example.com"
        assert pool.cert_reqs == "CERT_REQUIRED"
        assert pool.retries is False
        assert pool.timeout.total == 4.0
    finally:
        pool.close()
    plain = open_pool(Target("http", "hooks.example.com", PUBLIC, 80, "hooks.example.com", "/"), 1)
    try:
        assert not isinstance(plain, urllib3.HTTPSConnectionPool)
        assert (plain.host, plain.port) == (PUBLIC, 80)
    finally:
        plain.close()


# -- attempts against a real server ---------------------------------------------------------


def test_a_2xx_delivers_the_exact_body_headers_and_signature() -> None:
    with receiver(Reply(204)) as server:
        url = f"http://hooks.test:{server.port}/in/abc?x=1"
        attempt = sender().send(url, SECRET, TRIGGER, NOW)
    assert attempt == Attempt(Outcome.DELIVERED, status=204)
    [request] = server.requests
    assert (request.method, request.path, request.body) == ("POST", "/in/abc?x=1", BODY)
    headers = request.headers
    assert headers["Host"] == f"hooks.test:{server.port}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(BODY))
    assert headers["X-OptionsFlow-Trigger"] == TRIGGER["trigger_id"]
    t, v1 = headers["X-OptionsFlow-Signature"].split(",")
    assert t == "t=1796550060"
    expected = hmac.new(SECRET.encode(), b"1796550060." + BODY, hashlib.sha256).hexdigest()
    assert v1 == f"v1={expected}"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200), Attempt(Outcome.DELIVERED, status=200)),
        (Reply(500), Attempt(Outcome.RETRY, status=500)),
        (Reply(503, (("Retry-After", "12"),)), Attempt(Outcome.RETRY, 503, retry_after_s=12.0)),
        (Reply(429, (("Retry-After", "7"),)), Attempt(Outcome.RETRY, 429, retry_after_s=7.0)),
        (Reply(429), Attempt(Outcome.RETRY, status=429)),
        (Reply(400), Attempt(Outcome.GIVE_UP, status=400)),
        (Reply(410), Attempt(Outcome.GIVE_UP, status=410)),
        (Reply(404, (("Retry-After", "7"),)), Attempt(Outcome.GIVE_UP, status=404)),
    ],
)
def test_each_status_ends_its_attempt_so(reply: Reply, expected: Attempt) -> None:
    with receiver(reply) as server:
        assert sender().send(f"http://hooks.test:{server.port}/", SECRET, TRIGGER, NOW) == expected
    assert len(server.requests) == 1


def test_a_redirect_is_not_followed() -> None:
    with receiver(Reply(302, (("Location", "http://127.0.0.1:1/elsewhere"),))) as server:
        url = f"http://hooks.test:{server.port}/a"
        assert sender().send(url, SECRET, TRIGGER, NOW) == Attempt(Outcome.GIVE_UP, status=302)
    assert [r.path for r in server.requests] == ["/a"]


def test_a_receiver_slower_than_the_timeout_is_retried() -> None:
    with receiver(Reply(200, delay_s=1.5)) as server:
        attempt = sender(timeout_s=0.2).send(f"http://hooks.test:{server.port}/", SECRET,
                                              TRIGGER, NOW)  # fmt: skip
    assert attempt.outcome is Outcome.RETRY
    assert attempt.status is None
    assert attempt.error is not None
    assert attempt.error.startswith("timeout: ReadTimeoutError")


def test_the_response_body_is_not_read() -> None:
    """200 announcing 1 MB, 3 bytes sent, the connection held: reading the body would time
    out; the attempt ends on the status."""
    with receiver(Reply(200, body=b"abc", declared_length=1_000_000, hold_s=2.0)) as server:
        attempt = sender(timeout_s=0.5).send(f"http://hooks.test:{server.port}/", SECRET,
                                              TRIGGER, NOW)  # fmt: skip
    assert attempt == Attempt(Outcome.DELIVERED, status=200)


def test_a_connection_refused_is_retried() -> None:
    attempt = sender().send(f"http://hooks.test:{free_port()}/", SECRET, TRIGGER, NOW)
    assert attempt.outcome is Outcome.RETRY
    assert attempt.error is not None
    assert attempt.error.startswith("connection failed:")
    assert "Connection refused" in attempt.error


def test_a_name_that_does_not_resolve_is_retried() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    attempt = sender(resolve=fail).send("https://hooks.test/", SECRET, TRIGGER, NOW)
    assert attempt == Attempt(
        Outcome.RETRY, error="resolution failed: [Errno -2] Name or service not known"
    )


def test_a_loopback_url_is_refused_and_nothing_is_connected() -> None:
    with receiver() as server:
        for url, resolve in [
            (f"http://127.0.0.1:{server.port}/", resolve_addresses),
            (f"http://hooks.test:{server.port}/", local()),
        ]:
            attempt = sender(allow_private=False, resolve=resolve).send(url, SECRET, TRIGGER, NOW)
            assert attempt.outcome is Outcome.GIVE_UP
            assert attempt.error is not None
            assert attempt.error.startswith("refused: ")
            assert "127.0.0.1" in attempt.error
    assert server.requests == []


class Recorded:
    """A pool factory that notes each target and connects as :func:`open_pool` would, to
    ``route`` (address → where the test's network delivers it)."""

    def __init__(self, route: dict[str, str] | None = None, ca: Path | None = None) -> None:
        self.route = route or {}
        self.ca = ca
        self.targets: list[Target] = []

    def __call__(self, target: Target, timeout_s: float) -> urllib3.HTTPConnectionPool:
        self.targets.append(target)
        routed = Target(target.scheme, target.name, self.route.get(target.address,
                        target.address), target.port, target.netloc, target.path)  # fmt: skip
        return open_pool(routed, timeout_s, str(self.ca) if self.ca else None)


def test_dns_rebinding_the_checked_public_address_is_the_one_connected_to() -> None:
    """The name answers a public address to the check and loopback afterwards: the
    attempt resolves once and connects to the public address (which this test's network
    routes to its server), never to loopback."""
    resolve, calls = resolver([PUBLIC], ["127.0.0.1"])
    connect = Recorded(route={PUBLIC: "127.0.0.1"})
    with receiver() as server:
        url = f"http://hooks.test:{server.port}/in"
        attempt = sender(allow_private=False, resolve=resolve, connect=connect).send(
            url, SECRET, TRIGGER, NOW
        )
    assert attempt == Attempt(Outcome.DELIVERED, status=200)
    assert calls == [("hooks.test", server.port)]
    assert [(t.address, t.name) for t in connect.targets] == [(PUBLIC, "hooks.test")]
    assert server.requests[0].headers["Host"] == f"hooks.test:{server.port}"


def test_a_name_with_one_private_address_among_several_is_refused_unconnected() -> None:
    resolve, calls = resolver([PUBLIC, "10.0.0.7", "2606:2800:220:1::1"])
    connect = Recorded()
    attempt = sender(allow_private=False, resolve=resolve, connect=connect).send(
        "https://hooks.test/", SECRET, TRIGGER, NOW
    )
    assert attempt == Attempt(
        Outcome.GIVE_UP, error="refused: hooks.test resolves to 10.0.0.7, not a public address"
    )
    assert connect.targets == []
    assert len(calls) == 1


def test_https_to_the_address_verifies_the_certificate_against_the_name(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path, "hooks.test")
    connect = Recorded(ca=tls.ca)
    with receiver(tls=tls) as server:
        url = f"https://hooks.test:{server.port}/in"
        attempt = sender(connect=connect).send(url, SECRET, TRIGGER, NOW)
    assert attempt == Attempt(Outcome.DELIVERED, status=200)
    assert server.server_names == ["hooks.test"]  # SNI: the name, not 127.0.0.1
    assert connect.targets[0].address == "127.0.0.1"
    assert server.requests[0].body == BODY


def test_https_with_a_certificate_for_another_name_is_not_sent(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path, "other.test")
    with receiver(tls=tls) as server:
        url = f"https://hooks.test:{server.port}/in"
        attempt = sender(connect=Recorded(ca=tls.ca)).send(url, SECRET, TRIGGER, NOW)
    assert attempt.outcome is Outcome.RETRY
    assert attempt.error is not None
    assert "SSLError" in attempt.error or "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert server.requests == []


def test_the_signature_time_is_whole_seconds_of_now() -> None:
    later = dt.datetime(2026, 12, 6, 9, 41, 59, 999_000, tzinfo=dt.UTC).timestamp()
    with receiver() as server:
        sender().send(f"http://hooks.test:{server.port}/", SECRET, TRIGGER, later)
    header = server.requests[0].headers["X-OptionsFlow-Signature"]
    assert header.startswith("t=1796550119,")
    assert verify_signature(SECRET, header, BODY, later)
    assert not verify_signature("x" * 64, header, BODY, later)


def test_the_receivers_check_in_api_md_accepts_our_signatures_and_nothing_else() -> None:
    text = (Path(__file__).parents[4] / "docs" / "API.md").read_text(encoding="utf-8")
    section = text[text.index("## Webhooks") :]
    start = section.index("```python\n") + len("```python\n")
    namespace: dict[str, Any] = {}
    exec(section[start : section.index("```", start)], namespace)  # the documented code
    namespace["time"] = SimpleNamespace(time=lambda: NOW + 120.0)  # its clock
    verify = namespace["verify"]
    header = sign(SECRET, BODY, NOW)
    assert verify(SECRET, header, BODY)
    assert verify(SECRET, f"t=1796550060,v1={'0' * 64},{header.split(',')[1]}", BODY)
    assert not verify(SECRET, header, BODY + b" ")
    assert not verify("0" * 64, header, BODY)
    assert not verify(SECRET, "v1=" + header.split("v1=")[1], BODY)
    assert not verify(SECRET, "garbage", BODY)
    assert not verify(SECRET, header.replace("t=", "t=\u00b2,x="), BODY)
    assert not verify(SECRET, sign(SECRET, BODY, NOW - 200), BODY)  # 320 s old
    assert verify(SECRET, header, BODY, tolerance_s=121)  # 120.4 s after t
    assert not verify(SECRET, header, BODY, tolerance_s=120)
