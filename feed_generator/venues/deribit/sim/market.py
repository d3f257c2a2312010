"""The simulator's market: BTC and ETH options priced on the synthetic market's smile.

Each coin's index follows the synthetic feed's jump-diffusion (``process.py``);
its options sit on SSVI smiles (``smile.py``) around a forward ``F = S·e^{b·T}``
(``b`` the futures basis), priced with Black-76 at rate 0 as Deribit quotes them:
the USD value divided by ``F`` is the coin price, ``mark_iv`` the smile's
volatility in percent. Bid and ask are the prices at the smile ∓ a spread in vol
points, rounded outwards to the tick; ``bid_iv`` and ``ask_iv`` are, as Deribit's,
the IVs of those published prices (0 for a side without one, or whose price is at or
below its zero-volatility value). Trades arrive at random and move volume
and open interest (coins). Everything is vectorised per coin; no I/O.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from common.messages import OptionType
from feed_generator.expiries import Weekday, last_weekday_of_month
from feed_generator.process import JumpDiffusion, ProcessParams
from feed_generator.smile import Smile, SmileParams
from feed_generator.venues.deribit.instruments import EXPIRY_TIME_UTC, format_option_name
from optionsmath import bs_price, implied_vol

FloatArray = NDArray[np.float64]
SECONDS_PER_YEAR = 365.0 * 86400.0
TICK = 0.0001
"""Price tick of BTC and ETH options, in the coin."""


@dataclass(frozen=True, slots=True)
class CoinSpec:
    base: str
    spot: float
    """Initial index, USD."""
    vol: float
    """Long-run volatility, per year."""
    strike_step: float
    basis: float = 0.05
    """Futures basis per year: the forward's carry over the index."""


COINS = (CoinSpec("BTC", 95_000.0, 0.55, 1000.0), CoinSpec("ETH", 3_500.0, 0.7, 50.0))


def expiry_dates(now: dt.datetime, count: int = 8) -> list[dt.date]:
    """The ``count`` nearest Deribit-like expiries after ``now`` (aware), sorted: the next three
    dailies, the next three Fridays, then the month-ends (each month's last Friday).

    Only dates whose 08:00 UTC is after ``now``: an expiry leaves the list when it expires.
    A date in two series (a Friday that is a daily, a month-end that is a Friday) counts
    once, so month-ends are added until the distinct dates are ``count``.
    """
    utc = now.astimezone(dt.UTC)
    first = utc.date() if utc.time() < EXPIRY_TIME_UTC else utc.date() + dt.timedelta(1)
    days = {first + dt.timedelta(i) for i in range(3)}
    friday = first + dt.timedelta((Weekday.FRIDAY - first.weekday()) % 7)
    days |= {friday + dt.timedelta(7 * i) for i in range(3)}
    month_ends = _month_ends(first)
    while len(days) < count:
        days.add(next(month_ends))
    return sorted(days)[:count]


def _month_ends(first: dt.date) -> Iterator[dt.date]:
    """The months' last Fridays on or after ``first``, nearest first, without end."""
    for months in itertools.count(12 * first.year + first.month - 1):
        year, month = divmod(months, 12)
        day = last_weekday_of_month(year, month + 1, Weekday.FRIDAY)
        if day >= first:
            yield day


def iv_percent(
    coin: FloatArray, forward: FloatArray, strike: FloatArray, T: FloatArray,
    is_call: NDArray[np.bool_],
) -> FloatArray:  # fmt: skip
    """The IVs of coin prices as Deribit sends them: Black-76 at rate 0 on ``forward`` (USD),
    ``T`` in years, in percent rounded to 0.01; 0 where there is none (no price, or a price
    at or below its zero-volatility value, as a bid rounded down to the tick can be)."""
    sigma = np.asarray(implied_vol(coin * forward, forward, strike, T, 0.0, 0.0, is_call))
    return np.where((coin > 0) & np.isfinite(sigma), np.round(sigma * 100, 2), 0.0)


@dataclass
class Book:
    """One coin's options: static listing arrays and their changing state."""

    spec: CoinSpec
    process: JumpDiffusion
    names: list[str]
    expiry_ms: NDArray[np.int64]
    strike: FloatArray
    is_call: NDArray[np.bool_]
    oi: FloatArray
    volume: FloatArray = field(init=False)
    last: FloatArray = field(init=False)
    quotes: dict[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.volume = np.zeros_like(self.strike)
        self.last = np.zeros_like(self.strike)


class SimMarket:
    """BTC and ETH option books priced at ``now``; :meth:`step` moves them on."""

    def __init__(
        self,
        now: dt.datetime,
        *,
        seed: int = 7,
        strikes_per_side: int = 7,
        expiries: int = 8,
        spread_vol: float = 0.02,
        coins: tuple[CoinSpec, ...] = COINS,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.spread_vol = spread_vol
        self.smile_params = SmileParams(rho=-0.15, eta=1.2, gamma=0.4, vol_premium=1.0)
        self.now = now
        self.strikes_per_side, self.expiries = strikes_per_side, expiries
        self.books = {c.base: self._book(c, now) for c in coins}
        for book in self.books.values():
            self._price(book)

    def _book(self, spec: CoinSpec, now: dt.datetime, process: JumpDiffusion | None = None) -> Book:
        """The listing at ``now``: strikes around the index, the next expiries."""
        if process is None:
            process = JumpDiffusion(ProcessParams(long_run_vol=spec.vol), spec.spot, self.rng)
        per_side = self.strikes_per_side
        centre = round(process.spot / spec.strike_step) * spec.strike_step
        strikes = [centre + i * spec.strike_step for i in range(-per_side, per_side + 1)]
        names, expiry_ms, strike, is_call = [], [], [], []
        for day in expiry_dates(now, self.expiries):
            instant = dt.datetime.combine(day, EXPIRY_TIME_UTC, tzinfo=dt.UTC)
            for k in strikes:
                for side in (OptionType.CALL, OptionType.PUT):
                    names.append(format_option_name(spec.base, day, k, side))
                    expiry_ms.append(int(instant.timestamp() * 1000))
                    strike.append(k)
                    is_call.append(side is OptionType.CALL)
        strike_a = np.array(strike)
        z = np.log(strike_a / process.spot) / 0.1
        oi = np.round(500.0 * np.exp(-0.5 * z * z) + self.rng.uniform(0, 50, len(z)), 1)
        return Book(spec, process, names, np.array(expiry_ms), strike_a, np.array(is_call), oi)

    def step(self, now: dt.datetime) -> None:
        """Move every coin's index and book to ``now`` (aware) and reprice."""
        seconds = (now - self.now).total_seconds()
        self.now = now
        now_ms = now.timestamp() * 1000.0
        for base, book in list(self.books.items()):
            if seconds > 0:
                book.process.step_seconds(seconds)
                self._trade(book, seconds)
            if book.expiry_ms.min() <= now_ms:  # an expiry went: list the next ones, as the venue
                book = self.books[base] = self._book(book.spec, now, book.process)
            self._price(book)

    def _trade(self, book: Book, seconds: float) -> None:
        traded = self.rng.random(len(book.strike)) < min(1.0, 0.02 * seconds)
        amount = np.round(self.rng.uniform(0.1, 5.0, len(book.strike)), 1) * traded
        book.volume += amount
        book.oi = np.maximum(0.0, book.oi + amount * self.rng.uniform(-0.4, 1.0, len(amount)))
        book.last = np.where(traded, book.quotes.get("mark", book.last), book.last)

    def _price(self, book: Book) -> None:
        now_ms = self.now.timestamp() * 1000.0
        T = np.maximum((book.expiry_ms - now_ms) / 1000.0 / SECONDS_PER_YEAR, 1e-6)
        spot = book.process.spot
        forward = spot * np.exp(book.spec.basis * T)
        smile = Smile(self.smile_params, book.process.vol, book.spec.vol, 4.0)
        vol = smile.implied_vol(np.log(book.strike / forward), T)

        def coin(sigma: FloatArray) -> FloatArray:
            usd = bs_price(forward, book.strike, T, 0.0, 0.0, sigma, book.is_call)
            return np.asarray(np.asarray(usd, dtype=np.float64) / forward, dtype=np.float64)

        bid_vol = np.maximum(vol - self.spread_vol, 0.01)
        # Rounded to the 4 decimals the tickers send, so the IVs are those of the sent prices.
        bid = np.round(np.floor(coin(bid_vol) / TICK) * TICK, 4)
        ask = np.round(np.ceil(coin(vol + self.spread_vol) / TICK) * TICK, 4)
        book.quotes = {
            "T": T,
            "forward": forward,
            "vol": vol,
            "mark": coin(vol),
            "bid": bid,
            "ask": ask,
        }
        # One solve for both sides: the solver's cost is mostly per call, not per option.
        both = iv_percent(
            np.concatenate([bid, ask]), np.tile(forward, 2), np.tile(book.strike, 2),
            np.tile(T, 2), np.tile(book.is_call, 2),
        )  # fmt: skip
        book.quotes["bid_iv"], book.quotes["ask_iv"] = np.split(both, 2)

    def index(self, base: str) -> dict[str, Any]:
        """``deribit_price_index`` data of ``base``."""
        price = round(self.books[base].process.spot, 2)
        return {"index_name": f"{base.lower()}_usd", "price": price, "timestamp": self._ms()}

    def _ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def tickers(self, base: str) -> list[tuple[str, dict[str, Any]]]:
        """Each option's ``ticker`` data: prices in the coin, IVs in percent."""
        book, q, ms = self.books[base], self.books[base].quotes, self._ms()
        index = round(book.process.spot, 2)
        # Python floats once per array, not a NumPy scalar per field: a tick of ~1,000 rows
        # is built in ~2 ms instead of ~4.5 (the simulator's time is in the measured delay).
        bids, asks, marks = q["bid"].tolist(), q["ask"].tolist(), q["mark"].tolist()
        vols, bid_ivs, ask_ivs = q["vol"].tolist(), q["bid_iv"].tolist(), q["ask_iv"].tolist()
        forwards, volumes = q["forward"].tolist(), book.volume.tolist()
        ois, lasts = book.oi.tolist(), book.last.tolist()
        rows = []
        for i, name in enumerate(book.names):
            bid, ask = bids[i], asks[i]
            rows.append((name, {
                "timestamp": ms, "state": "open",
                "stats": {"volume": round(volumes[i], 1)},
                "open_interest": round(ois[i], 1),
                "best_bid_price": round(bid, 4) if bid > 0 else None,
                "best_bid_amount": 10.0 if bid > 0 else 0.0,
                "best_ask_price": round(ask, 4), "best_ask_amount": 10.0,
                "last_price": round(lasts[i], 4) or None,
                "mark_price": marks[i], "mark_iv": round(vols[i] * 100, 2),
                "bid_iv": bid_ivs[i], "ask_iv": ask_ivs[i],
                "underlying_price": forwards[i],
                "underlying_index": f"{base}-{name.split('-')[1]}", "index_price": index,
                "interest_rate": 0.0, "instrument_name": name,
            }))  # fmt: skip
        return rows

    def instruments(self, base: str) -> list[dict[str, Any]]:
        """``public/get_instruments`` rows of ``base``'s options."""
        book = self.books[base]
        return [
            {
                "instrument_name": name, "kind": "option", "option_type": "call" if call else "put",
                "strike": float(k), "expiration_timestamp": int(ms), "base_currency": base,
                "quote_currency": base, "settlement_currency": base, "counter_currency": "USD",
                "contract_size": 1.0, "tick_size": TICK, "min_trade_amount": 0.1,
                "is_active": True, "settlement_period": "day", "instrument_id": i,
                "creation_timestamp": int(ms) - 30 * 86_400_000,
                "price_index": f"{base.lower()}_usd",
            }
            for i, (name, ms, k, call) in enumerate(
                zip(book.names, book.expiry_ms, book.strike, book.is_call, strict=True)
            )
        ]  # fmt: skip

    def book_summaries(self, base: str) -> list[dict[str, Any]]:
        """``public/get_book_summary_by_currency`` rows (kind option) of ``base``."""
        rows = []
        for name, tick in self.tickers(base):
            bid, ask = tick["best_bid_price"], tick["best_ask_price"]
            rows.append({
                "instrument_name": name, "base_currency": base, "quote_currency": base,
                "bid_price": bid, "ask_price": ask,
                "mid_price": (bid + ask) / 2 if bid and ask else None,
                "mark_price": tick["mark_price"], "mark_iv": tick["mark_iv"],
                "last": tick["last_price"], "open_interest": tick["open_interest"],
                "volume": tick["stats"]["volume"], "underlying_price": tick["underlying_price"],
                "underlying_index": tick["underlying_index"], "interest_rate": 0.0,
                "creation_timestamp": tick["timestamp"], "price_change": None,
            })  # fmt: skip
        return rows
