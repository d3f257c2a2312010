"""One expiry's book: quotes, day volume, open interest and last prices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from feed_generator.book import ChainSnapshot, ExpiryBook, log_moneyness, moneyness
from feed_generator.products import PRODUCTS
from feed_generator.session import IST, SessionMode
from feed_generator.smile import Smile

NIFTY = PRODUCTS["NIFTY"]
START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)  # 09:30 IST
EXPIRY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
R, Q = 0.065, 0.0


def _smile(vol: float = 0.13) -> Smile:
    return Smile(NIFTY.smile, vol, NIFTY.process.long_run_vol, NIFTY.process.mean_reversion)


def _book(seed: int = 1, rank: int = 0, session: SessionMode = SessionMode.EXCHANGE) -> ExpiryBook:
    """A book on the real exchange calendar unless ``session`` says otherwise."""
    rng = np.random.default_rng(seed)
    return ExpiryBook(NIFTY.strike_step, NIFTY.spreads, NIFTY.activity, rank, rng, session)


def _refresh(book: ExpiryBook, offset: float, spot: float, n: int = 21) -> ChainSnapshot:
    moment = START + dt.timedelta(seconds=offset)
    T = (EXPIRY - moment).total_seconds() / (365 * 86400)
    return book.refresh(offset, moment, spot, T, R, Q, _smile(), n)


def _at(book: ExpiryBook, moment: dt.datetime, spot: float = 24_000.0) -> ChainSnapshot:
    return _refresh(book, (moment - START).total_seconds(), spot)


def _ist(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """November 2026 in Mumbai: the 23rd is a Monday, the 28th a Saturday."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=IST).astimezone(dt.UTC)


def _total(snap: ChainSnapshot) -> int:
    return sum(snap.volume[0]) + sum(snap.volume[1])


def _walk(book: ExpiryBook, steps: int, dt_s: float = 1.0, seed: int = 9) -> list[ChainSnapshot]:
    rng = np.random.default_rng(seed)
    spot, out = 24_000.0, []
    for i in range(steps):
        spot = round(spot * float(np.exp(rng.normal(0.0, 0.002))) / 0.05) * 0.05
        out.append(_refresh(book, i * dt_s, spot))
    return out


def test_window_is_centred_on_the_money_with_exactly_n_strikes() -> None:
    book = _book()
    snap = _refresh(book, 0.0, 24_013.0, n=21)
    assert len(snap.strikes) == 21
    assert snap.strikes[10] == 24_000.0
    assert snap.strikes == sorted(snap.strikes)
    assert np.allclose(np.diff(snap.strikes), 50.0)
    wide = _refresh(_book(), 0.0, 24_013.0, n=101)
    assert len(wide.strikes) == 101
    assert wide.strikes[50] == 24_000.0


def test_window_never_lists_non_positive_strikes() -> None:
    snap = _refresh(_book(), 0.0, 24_000.0, n=2000)
    assert len(snap.strikes) == 2000
    assert snap.strikes[0] == 50.0


def test_quotes_are_sane_on_every_refresh() -> None:
    for snap in _walk(_book(), 300):
        for side in (0, 1):
            bid, ask = np.array(snap.bid[side]), np.array(snap.ask[side])
            last = np.array(snap.last[side])
            assert np.all(bid >= 0.0)
            assert np.all(ask - bid >= 0.05 - 1e-9)
            assert np.all(np.abs(bid / 0.05 - np.round(bid / 0.05)) < 1e-6)
            assert np.all(last > 0.0)
            assert all(isinstance(v, int) and v >= 0 for v in snap.oi[side] + snap.volume[side])


def test_volume_never_decreases_within_a_day_and_oi_never_goes_negative() -> None:
    book = _book(seed=2)
    previous: dict[tuple[int, float], int] = {}
    for snap in _walk(book, 600, dt_s=5.0):
        for side in (0, 1):
            for strike, volume in zip(snap.strikes, snap.volume[side], strict=True):
                assert volume >= previous.get((side, strike), 0)
                previous[side, strike] = volume
    assert np.all(book.oi >= 0)
    assert np.all(book.volume >= 0)


def test_volume_resets_at_the_start_of_a_trading_day() -> None:
    book = _book(seed=3)
    offset_midnight_ist = (dt.datetime(2026, 11, 23, 18, 30, tzinfo=dt.UTC) - START).total_seconds()
    before = _refresh(book, offset_midnight_ist - 1.0, 24_000.0)
    after = _refresh(book, offset_midnight_ist + 0.5, 24_000.0)
    assert sum(before.volume[0]) > 1000
    assert sum(after.volume[0]) < sum(before.volume[0]) / 100


def test_volume_grows_faster_near_the_money() -> None:
    book = _book(seed=4)
    first = _refresh(book, 0.0, 24_000.0, n=61)
    last = _refresh(book, 600.0, 24_000.0, n=61)
    growth = np.array(last.volume) - np.array(first.volume)  # ± 30 strikes: about ± 3 sd
    atm, wing = growth[:, 28:33].mean(), growth[:, [0, 1, 2, 58, 59, 60]].mean()
    assert atm > 3.0 * wing


def test_oi_moves_by_at_most_the_traded_volume() -> None:
    book = _book(seed=5)
    a = _refresh(book, 0.0, 24_000.0)
    b = _refresh(book, 30.0, 24_000.0)
    d_oi = np.abs(np.array(b.oi) - np.array(a.oi))
    d_volume = np.array(b.volume) - np.array(a.volume)
    assert np.all(d_oi <= d_volume)


def test_initial_oi_profile_is_plausible() -> None:
    snap = _refresh(_book(seed=6), 0.0, 24_010.0, n=61)
    strikes = np.array(snap.strikes)
    calls, puts = np.array(snap.oi[0], dtype=float), np.array(snap.oi[1], dtype=float)
    above, below = strikes > 24_010.0, strikes < 24_010.0
    assert calls[above].sum() > 2.0 * calls[below].sum()
    assert puts[below].sum() > 2.0 * puts[above].sum()
    total = calls + puts
    near = np.abs(strikes - 24_000.0) <= 250.0
    far = np.abs(strikes - 24_000.0) >= 1000.0  # two standard deviations out
    assert total[near].mean() > 3.0 * total[far].mean()
    round_ = (strikes % 500.0 == 0.0) & (np.abs(strikes - 24_000.0) <= 1000.0)
    odd = (strikes % 100.0 != 0.0) & (np.abs(strikes - 24_000.0) <= 1000.0)
    assert total[round_].mean() > total[odd].mean()


def test_grid_follows_the_spot_and_keeps_state_of_known_strikes() -> None:
    book = _book(seed=7)
    first = _refresh(book, 0.0, 24_000.0)
    moved = _refresh(book, 1.0, 27_000.0)
    assert moved.strikes[10] == 27_000.0
    back = _refresh(book, 2.0, 24_000.0)
    assert back.strikes == first.strikes
    assert all(b >= a for a, b in zip(first.volume[0], back.volume[0], strict=True))


def test_far_expiries_trade_less_than_the_front() -> None:
    front, far = _book(seed=8, rank=0), _book(seed=8, rank=3)
    for book in (front, far):
        _refresh(book, 0.0, 24_000.0)
    a, b = _refresh(front, 600.0, 24_000.0), _refresh(far, 600.0, 24_000.0)
    assert sum(a.volume[0]) > 3 * sum(b.volume[0])


def test_same_seed_same_book() -> None:
    one = [s.rows for s in _walk(_book(seed=10), 50)]
    two = [s.rows for s in _walk(_book(seed=10), 50)]
    assert one == two


def test_no_trading_between_sessions() -> None:
    book = _book(seed=11)
    closing = _at(book, _ist(23, 15, 30))
    assert _total(closing) > 1000
    for moment in (_ist(23, 15, 31), _ist(23, 20), _ist(23, 23, 59)):
        snap = _at(book, moment)
        assert snap.volume == closing.volume
        assert snap.oi == closing.oi
        assert snap.last == closing.last
    morning = _at(book, _ist(24, 9, 14))  # a new day before the open: reset, nothing traded
    assert _total(morning) == 0
    assert morning.oi == closing.oi
    assert _total(_at(book, _ist(24, 9, 20))) > 0


def test_no_trading_on_weekends() -> None:
    book = _book(seed=12)
    friday = _at(book, _ist(27, 15, 30))
    assert _total(friday) > 1000
    moment = _ist(28)
    while moment < _ist(30):  # Saturday and Sunday, every 2 h
        snap = _at(book, moment)
        assert _total(snap) == 0
        assert snap.oi == friday.oi
        assert snap.last == friday.last
        moment += dt.timedelta(hours=2)
    assert _total(_at(_book(seed=13), _ist(29, 23, 59))) == 0  # a new book on a Sunday night


def test_the_simulated_session_trades_in_the_evening_and_at_weekends() -> None:
    book = _book(seed=11, session=SessionMode.SIMULATED)
    closing = _at(book, _ist(23, 15, 30))
    evening = _at(book, _ist(23, 20))
    assert _total(evening) > _total(closing) > 1000
    assert evening.oi != closing.oi
    saturday = _at(book, _ist(28, 12))
    later = _at(book, _ist(28, 12, 5))
    assert _total(later) > _total(saturday) > 0
    assert later.last != saturday.last  # trades print outside the real session too


def test_a_new_book_shows_the_same_day_volume_as_an_old_one() -> None:
    """Created at 13:00 IST, a book trades 09:15–13:00 at once: the old one traded it live."""
    old, fresh = _book(seed=14), _book(seed=15)
    moment = _ist(23)  # alive since midnight, refreshed every minute
    while moment <= _ist(23, 13):
        old_snap = _at(old, moment)
        moment += dt.timedelta(minutes=1)
    fresh_snap = _at(fresh, _ist(23, 13))
    assert _total(old_snap) > 1_000_000
    assert _total(fresh_snap) == pytest.approx(_total(old_snap), rel=0.03)
    # At the end of the day both carry one session, whenever they were created.
    late_old, late_fresh = _at(old, _ist(23, 23, 59)), _at(_book(seed=16), _ist(23, 23, 59))
    assert _total(late_fresh) == pytest.approx(_total(late_old), rel=0.03)


def test_moneyness_is_log_moneyness_in_atm_standard_deviations() -> None:
    strikes = np.array([22_000.0, 24_000.0, 26_000.0])
    T, smile = 0.05, _smile()
    forward = 24_000.0 * np.exp((R - Q) * T)
    k = log_moneyness(strikes, 24_000.0, T, R, Q)
    assert np.allclose(k, np.log(strikes / forward))
    z = moneyness(strikes, 24_000.0, T, R, Q, smile)
    assert np.allclose(z, k / np.sqrt(smile.atm_total_variance(T)))
