"""The load tests run against ``make up``'s process set (the end-to-end tests' fixture),
configured as docs/LOADTEST.md says: every simulated user comes from one address, so
the per-address limits are lifted (the per-user ones stay)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Devstack, deribit_simulator, devstack

# deribit_simulator: the devstack fixture runs the Deribit venue against it
__all__ = ["deribit_simulator", "devstack", "load_test_limits", "stack"]

LOAD_TEST_LIMITS = {
    "LOGIN_LIMIT_IP": "100000/minute",
    "RATE_LIMIT_IP": "1000000/second",
    "SOCKET_MAX_CONN_PER_IP": "100000",
}


@pytest.fixture(scope="module", autouse=True)
def load_test_limits() -> Iterator[dict[str, str]]:
    """In the environment ``devstack`` copies when it starts (autouse: set up before it)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LOAD_TEST_LIMITS.items():
            patch.setenv(name, value)
        yield LOAD_TEST_LIMITS


@pytest.fixture(scope="module")
def stack(load_test_limits: dict[str, str], devstack: Devstack) -> Iterator[Devstack]:
    """``devstack``, stopped with Ctrl-C at the end: its own teardown kills only the
    supervisor, which starts every process in a session of its own, so they (and the
    embedded Redis) would outlive the test."""
    yield devstack
    if devstack.proc.poll() is None:
        rc, out = devstack.interrupt()
        assert rc == 130, f"make up's process set did not stop cleanly (rc {rc}):\n{out[-3000:]}"
