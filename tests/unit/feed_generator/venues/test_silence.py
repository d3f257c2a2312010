"""The silent-connection watchdog on a fake clock: ping once, then replace; a frame resets."""

from __future__ import annotations

import pytest

from feed_generator.venues.silence import SilenceAction, SilenceWatchdog
from tests.support.clock import FakeClock


def test_ping_once_then_replace() -> None:
    clock = FakeClock()
    watchdog = SilenceWatchdog(5.0, 12.0, clock=clock)
    clock.advance(4.9)
    assert watchdog.check() is SilenceAction.NONE
    assert watchdog.next_check_in() == pytest.approx(0.1)
    clock.advance(0.1)
    assert watchdog.check() is SilenceAction.PING
    assert watchdog.check() is SilenceAction.NONE  # one ping per silence
    assert watchdog.next_check_in() == pytest.approx(7.0)
    assert not watchdog.is_silent()
    clock.advance(7.0)
    assert watchdog.is_silent()
    assert watchdog.check() is SilenceAction.REPLACE
    assert watchdog.silence() == pytest.approx(12.0)


def test_a_frame_ends_the_silence_and_rearms_the_ping() -> None:
    clock = FakeClock()
    watchdog = SilenceWatchdog(5.0, 12.0, clock=clock)
    clock.advance(6.0)
    assert watchdog.check() is SilenceAction.PING
    watchdog.touch()  # the answer to the ping
    assert watchdog.silence() == 0.0
    clock.advance(11.0)
    assert watchdog.check() is SilenceAction.PING  # a new silence gets its own ping
    clock.advance(0.5)
    assert watchdog.check() is SilenceAction.NONE
    assert watchdog.next_check_in() == pytest.approx(0.5)


def test_explicit_instants() -> None:
    watchdog = SilenceWatchdog(1.0, 2.0, clock=lambda: 100.0)
    watchdog.touch(now=100.0)
    assert watchdog.check(now=101.5) is SilenceAction.PING
    assert watchdog.is_silent(now=102.0)
    assert watchdog.silence(now=99.0) == 0.0  # a reading from before the touch


@pytest.mark.parametrize(("ping", "replace"), [(0.0, 1.0), (2.0, 2.0), (3.0, 1.0)])
def test_bad_thresholds_are_refused(ping: float, replace: float) -> None:
    with pytest.raises(ValueError, match="ping_after_s"):
        SilenceWatchdog(ping, replace)
