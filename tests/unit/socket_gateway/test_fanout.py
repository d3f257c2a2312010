"""The emit policy: in order while keeping up; newest per room at a capped rate when not;
back to normal once calm."""

from __future__ import annotations

from socket_gateway.fanout import Fanout, Mode, Update


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _fanout(clock: Clock, cost: float = 0.0) -> tuple[Fanout, list[tuple[str, int]], list[Mode]]:
    sent: list[tuple[str, int]] = []
    modes: list[Mode] = []

    def emit(update: Update) -> None:
        clock.now += cost  # what an emit costs, on the fake clock
        sent.append((update.room, update.payload["seq"]))

    fanout = Fanout(emit, modes.append, degrade_lag_s=0.25, rate_hz=2.0, recover_s=3.0, clock=clock)
    return fanout, sent, modes


def _up(room: str, seq: int) -> Update:
    return Update(room, "chain_update", {"seq": seq})


def test_normal_mode_sends_everything_in_order() -> None:
    clock = Clock()
    fanout, sent, modes = _fanout(clock)
    for seq in range(5):
        fanout.offer(_up("a" if seq % 2 else "b", seq))
    assert fanout.step() > 0
    assert sent == [("b", 0), ("a", 1), ("b", 2), ("a", 3), ("b", 4)]
    assert modes == []
    assert fanout.stats.emitted == 5


def test_falling_behind_coalesces_to_the_newest_per_room_at_the_capped_rate() -> None:
    clock = Clock()
    fanout, sent, modes = _fanout(clock)
    for seq in range(6):
        fanout.offer(_up("a" if seq % 2 else "b", seq))
    clock.now += 0.3  # the oldest has waited past the 250 ms threshold
    fanout.step()
    assert modes == [Mode.DEGRADED]
    assert sorted(sent) == [("a", 5), ("b", 4)]  # the newest of each room, once
    assert fanout.stats.superseded == 4
    sent.clear()
    for seq in range(6, 10):  # more arrive within the room's 0.5 s interval
        fanout.offer(_up("a", seq))
    wait = fanout.step()
    assert sent == []  # held: "a" was sent less than 0.5 s ago
    assert 0 < wait <= 0.5
    clock.now += 0.5
    fanout.step()
    assert sent == [("a", 9)]
    assert fanout.stats.superseded == 4 + 3


def test_calm_brings_normal_mode_back_and_flushes_what_was_held() -> None:
    clock = Clock()
    fanout, sent, modes = _fanout(clock, cost=0.001)
    fanout.offer(_up("a", 1))
    clock.now += 1.0
    fanout.step()
    assert modes == [Mode.DEGRADED]
    for tick in range(8):  # a trickle: 1 update/s at 1 ms an emit is far under half the time
        clock.now += 0.5
        fanout.offer(_up("a", 10 + tick))
        fanout.step()
        if modes[-1] is Mode.NORMAL:
            break
    assert modes == [Mode.DEGRADED, Mode.NORMAL]
    assert fanout.pending == 0
    fanout.offer(_up("a", 99))
    fanout.step()
    assert sent[-1] == ("a", 99)  # sent at once again


def test_a_busy_emitter_stays_degraded() -> None:
    clock = Clock()
    fanout, sent, modes = _fanout(clock, cost=0.01)
    fanout.offer(_up("r0", 0))
    clock.now += 1.0
    fanout.step()
    for tick in range(40):  # 100 updates a second at 10 ms an emit: a whole second per second
        for i in range(10):
            fanout.offer(_up(f"r{i}", tick))
        clock.now += 0.1
        fanout.step()
    assert modes == [Mode.DEGRADED]
    assert fanout.stats.superseded > 0
    rooms_sent = {room for room, _ in sent}
    assert rooms_sent == {f"r{i}" for i in range(10)}  # every room still gets its newest


def test_a_congested_hub_keeps_the_degraded_mode() -> None:
    clock = Clock()
    fanout, _sent, modes = _fanout(clock, cost=0.0)  # emits look free: only queued
    fanout.offer(_up("a", 1))
    clock.now += 1.0
    fanout.step()
    for tick in range(20):  # a trickle, but the loop wakes 400 ms late each time
        clock.now += 0.5
        fanout.note_lateness(0.4)
        fanout.offer(_up("a", 10 + tick))
        fanout.step()
    assert modes == [Mode.DEGRADED]


def test_a_relapse_asks_for_a_longer_calm() -> None:
    clock = Clock()
    fanout, _sent, modes = _fanout(clock, cost=0.001)

    def fall_behind() -> None:
        fanout.offer(_up("a", 1))
        clock.now += 1.0
        fanout.step()

    def calm_seconds() -> float:
        started = clock.now
        while fanout.mode is Mode.DEGRADED:
            clock.now += 0.5
            fanout.offer(_up("a", 2))
            fanout.step()
        return clock.now - started

    fall_behind()
    first = calm_seconds()
    fall_behind()  # again, within a minute
    second = calm_seconds()
    assert modes == [Mode.DEGRADED, Mode.NORMAL] * 2
    assert second >= 2 * first - 1.0
    clock.now += 120.0  # a long quiet spell: back to the base calm
    fall_behind()
    assert calm_seconds() <= first + 1.0
