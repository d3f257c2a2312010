"""The chaos suite: under a steady 2,000 messages/s, one fault at a time, nothing is lost.

One stack for the module (``make up``'s processes under its supervisor, Redis with its
append-only file, on free ports), the scenarios in sequence, each a few seconds of feed
around its fault (counted in feed messages, not in seconds of a machine whose pace a
loaded CI changes). Each asserts its zeros: no acknowledged chain seq missing from the
store or stored twice, no acknowledged tick left unbroadcast, the Socket.IO client back
with a newer chain, no log line the stream took left unfiled, and the backlog drained.
The times (Socket.IO back, recovery) are printed, never asserted: ``bench/chaos.py``
measures them over longer runs (docs/RELIABILITY.md, "Chaos").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from tests.chaos.scenarios import SCENARIOS, Probes, run
from tests.chaos.session import chaos_session

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.redis, pytest.mark.slow]

RATE = 2000
BEFORE = RATE  # about a second of feed before the fault
AFTER = 2 * RATE  # and two once the faulted part is back
FAST_REDELIVERY = {
    # A killed worker's batches come back after 5 s, not make up's 300 s, and a killed
    # subscriber's entries after 1 s: the suite's budget is some 150 s (the bench measures
    # the defaults too).
    "CELERY_VISIBILITY_TIMEOUT_S": "5",
    "SUBSCRIBER_CLAIM_IDLE_MS": "1000",
}


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probes]:
    with chaos_session(
        tmp_path_factory.mktemp("chaos"), rate=RATE, record_s=8.0, env=FAST_REDELIVERY
    ) as session:
        yield session


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_nothing_is_lost(probes: Probes, scenario: str) -> None:
    row = run(probes, scenario, BEFORE, AFTER, settle_s=60)
    log.warning("chaos row %s", json.dumps(row.as_dict()))  # the figures, shown on failure
    assert row.published > 0
    assert row.ticks_published > 0
    assert row.log_lines > 0
    assert row.drained, row.evidence["backlog_left"]
    assert (row.missing, row.duplicated) == (0, 0), row.evidence
    assert row.stored == row.published
    assert row.ticks_missing == 0, row.evidence
    assert row.socket_back_s is not None, (
        "the Socket.IO client got no chain after the fault; the Socket.IO gateway said:\n"
        + _socket_gateway_lines(probes)
    )
    if scenario == "socket":  # it lost its gateway: back through a new connection
        assert row.evidence["socket_reconnects"] >= 1
        assert row.evidence["socket_subscribed_again"] >= 1
    assert row.log_lost == 0, row.evidence


def _socket_gateway_lines(probes: Probes, last: int = 40) -> str:
    """The Socket.IO gateway's last lines in the supervisor's output (its listener's
    reconnects, its emit mode), the evidence for a client that heard nothing."""
    text = probes.stack.out_path.read_text(errors="replace")
    lines = [line for line in text.splitlines() if " socket " in line[:20]]
    return "\n".join(lines[-last:])
