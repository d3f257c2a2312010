"""The Kite simulator's market: NIFTY and BANKNIFTY options on the synthetic market's models.

Each underlying's index follows the synthetic feed's jump-diffusion (``process.py``) from
its ``products.py`` spec; its options sit on the SSVI smile (``smile.py``) of that spec,
priced with Black-Scholes at the NSE rate on the index, bid and ask on the 0.05 tick by
the synthetic market's spread model (``quoting.py``), open interest seeded by its
``initial_oi`` (``book.py``). Weekly expiries (plus the monthly) at 15:30 IST, strikes
every 50 (NIFTY) or 100 (BANKNIFTY) around the index. Depth is five levels a side, one
tick apart from the top, in whole lots. All prices are kept in paise (integers), as the
ticker sends them. No I/O.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from common.conventions import DEFAULT_EXPIRY_TIME_UTC, DEFAULT_RISK_FREE_RATE
from common.timestamps import SECONDS_PER_YEAR
from feed_generator.book import initial_oi
from feed_generator.expiries import ExpiryRule, last_weekday_of_month, listed_expiries
from feed_generator.process import JumpDiffusion
from feed_generator.products import PRODUCTS, ProductSpec
from feed_generator.quoting import quote_sides, trade_prices
from feed_generator.smile import Smile
from feed_generator.venues.kite.instruments import INDEX_NAMES, Instrument
from optionsmath import bs_price

IntArray = NDArray[np.int64]
TradableRow = tuple[int, ...]
"""A full packet's 46 integer fields in order: token, the quote's ten, last trade time,
OI, OI day high, OI day low, exchange time, then ten depth entries (quantity, price,
orders), bids first."""
IndexRow = tuple[int, ...]
"""An index full packet's 8 integer fields in order."""
INDEX_TOKENS = {"NIFTY": 256265, "BANKNIFTY": 260105, "FINNIFTY": 257801, "MIDCPNIFTY": 288009}
"""The indexes' instrument tokens (NIFTY 50 and NIFTY BANK as in Kite's examples)."""
NFO = 2
"""Segment of NFO instruments: ``token & 0xff``."""
LEVELS = 5
_MONTH_CODES = "123456789OND"
"""NSE weekly symbols write the month as one character."""


@dataclass
class Chain:
    """One underlying's listing (static arrays) and its changing state, prices in paise."""

    spec: ProductSpec
    process: JumpDiffusion
    expiry: list[dt.date]
    expiry_s: NDArray[np.float64]
    strike: NDArray[np.float64]
    is_call: NDArray[np.bool_]
    tokens: IntArray
    symbols: list[str]
    oi: IntArray
    index: IntArray = field(default_factory=lambda: np.zeros(4, np.int64))
    """The index's last, open, high, low, in paise."""
    index_close: int = 0
    state: dict[str, IntArray] = field(default_factory=dict)


def symbol(name: str, expiry: dt.date, strike: float, call: bool, monthly: bool) -> str:
    """NSE's option symbol: ``NIFTY25DEC24000CE`` (monthly), ``NIFTY25D0924000CE`` (weekly)."""
    if monthly:
        when = f"{expiry:%y}{expiry.strftime('%b').upper()}"
    else:
        when = f"{expiry:%y}{_MONTH_CODES[expiry.month - 1]}{expiry:%d}"
    return f"{name}{when}{round(strike)}{'CE' if call else 'PE'}"


class KiteMarket:
    """NIFTY and BANKNIFTY (by default) priced at ``now``; :meth:`step` moves them on."""

    def __init__(
        self,
        now: dt.datetime,
        *,
        seed: int = 7,
        expiries: int = 2,
        strikes_per_side: int = 10,
        underlyings: tuple[str, ...] = ("NIFTY", "BANKNIFTY"),
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.now = now
        self.expiries, self.strikes_per_side = expiries, strikes_per_side
        self._next_exchange_token = 35_000
        self.chains = {u: self._chain(PRODUCTS[u], now) for u in underlyings}
        for chain in self.chains.values():
            self._price(chain, first=True)

    def _chain(
        self, spec: ProductSpec, now: dt.datetime, process: JumpDiffusion | None = None
    ) -> Chain:
        if process is None:
            process = JumpDiffusion(spec.process, spec.spot, self.rng, r=DEFAULT_RISK_FREE_RATE)
        rule = spec.expiries
        weekly = ExpiryRule(rule.monthly_weekday, 1, rule.weekly_weekday, max(self.expiries, 1))
        days = listed_expiries(weekly, now, DEFAULT_EXPIRY_TIME_UTC)[: self.expiries]
        step = spec.strike_step
        centre = round(process.spot / step) * step
        strikes = [
            centre + i * step for i in range(-self.strikes_per_side, self.strikes_per_side + 1)
        ]
        rows = [(d, k, c) for d in days for k in strikes for c in (True, False)]
        count = len(rows)
        first = self._next_exchange_token
        self._next_exchange_token += count
        tokens = (np.arange(first, first + count, dtype=np.int64) << 8) | NFO
        monthly = {
            d: d == last_weekday_of_month(d.year, d.month, rule.monthly_weekday) for d in days
        }
        instants = [
            dt.datetime.combine(d, DEFAULT_EXPIRY_TIME_UTC, dt.UTC).timestamp() for d, _, _ in rows
        ]
        strike = np.array([k for _, k, _ in rows])
        z = np.log(strike / process.spot) / (spec.process.long_run_vol * 0.2)
        side = initial_oi(np.rint(strike / step).astype(np.int64), z, spec.activity, 0, self.rng)
        is_call = np.array([c for _, _, c in rows])
        oi = np.where(is_call, side[0], side[1]) * spec.lot_size
        return Chain(
            spec, process, [d for d, _, _ in rows], np.array(instants), strike, is_call, tokens,
            [symbol(spec.name, d, k, c, monthly[d]) for d, k, c in rows], oi.astype(np.int64),
        )  # fmt: skip

    def step(self, now: dt.datetime) -> None:
        """Move every index and chain to ``now`` (aware) and reprice; an expired expiry is
        replaced by the next, as the exchange lists it."""
        seconds = (now - self.now).total_seconds()
        self.now = now
        for name, chain in list(self.chains.items()):
            if seconds > 0:
                chain.process.step_seconds(seconds)
            if chain.expiry_s.min() <= now.timestamp():
                chain = self.chains[name] = self._chain(chain.spec, now, chain.process)
                self._price(chain, first=True)
                continue
            self._price(chain, first=False, seconds=max(seconds, 0.0))

    def _price(self, chain: Chain, *, first: bool, seconds: float = 0.0) -> None:
        spec, spot = chain.spec, chain.process.spot
        T = np.maximum((chain.expiry_s - self.now.timestamp()) / SECONDS_PER_YEAR, 1e-6)
        r = DEFAULT_RISK_FREE_RATE
        k = np.log(chain.strike / spot) - r * T
        p = spec.process
        smile = Smile(spec.smile, chain.process.vol, p.long_run_vol, p.mean_reversion)
        vol = smile.implied_vol(k, T)
        theo = np.asarray(bs_price(spot, chain.strike, T, r, 0.0, vol, chain.is_call), np.float64)
        bid, ask = quote_sides(theo, k / (vol * np.sqrt(T)), spec.spreads, self.rng)
        index = index_paise(spot)
        if first:
            chain.index[:] = index
            chain.index_close = index_paise(spot * 0.997)
            self._open(chain, theo)
        chain.index[0] = index
        chain.index[2], chain.index[3] = (
            max(int(chain.index[2]), index),
            min(int(chain.index[3]), index),
        )
        self._depth(chain, _paise(bid), _paise(ask))
        if seconds > 0:
            self._trade(chain, bid, ask, seconds)

    def _open(self, chain: Chain, theo: NDArray[np.float64]) -> None:
        last = np.maximum(_paise(np.round(theo / 0.05) * 0.05), 5)
        chain.state = {
            "last": last, "last_qty": np.full_like(last, chain.spec.lot_size),
            "volume": np.zeros_like(last), "turnover": np.zeros_like(last),
            "open": last.copy(), "high": last.copy(), "low": last.copy(),
            "close": np.maximum(_paise(np.round(theo * 1.02 / 0.05) * 0.05), 5),
            "oi_high": chain.oi.copy(), "oi_low": chain.oi.copy(),
            "trade_ts": np.full_like(last, int(self.now.timestamp())),
        }  # fmt: skip

    def _depth(self, chain: Chain, bid: IntArray, ask: IntArray) -> None:
        """Five levels a side one tick (5 paise) apart; an empty bid side when the bid is 0."""
        n, lot, rng = len(bid), chain.spec.lot_size, self.rng
        steps = 5 * np.arange(LEVELS)
        bids = bid[:, None] - steps
        bids = np.where((bid[:, None] > 0) & (bids > 0), bids, 0)
        asks = ask[:, None] + steps
        s = chain.state
        s["bid"], s["ask"] = bids, asks
        s["bid_qty"] = np.where(bids > 0, lot * rng.integers(1, 40, (n, LEVELS)), 0)
        s["ask_qty"] = lot * rng.integers(1, 40, (n, LEVELS))
        s["bid_orders"] = np.where(bids > 0, rng.integers(1, 15, (n, LEVELS)), 0)
        s["ask_orders"] = rng.integers(1, 15, (n, LEVELS))

    def _trade(
        self, chain: Chain, bid: NDArray[np.float64], ask: NDArray[np.float64], seconds: float
    ) -> None:
        spec, s, rng = chain.spec, chain.state, self.rng
        z = np.log(chain.strike / chain.process.spot) / 0.02
        traded = rng.random(len(bid)) < np.minimum(1.0, 0.2 * np.exp(-0.5 * z * z) * seconds)
        price = _paise(trade_prices(bid, ask, spec.spreads, rng))
        qty = spec.lot_size * rng.integers(1, 20, len(bid))
        s["last"] = np.where(traded, price, s["last"])
        s["last_qty"] = np.where(traded, qty, s["last_qty"])
        s["volume"] = s["volume"] + traded * qty
        s["turnover"] = s["turnover"] + traded * qty * price
        s["high"], s["low"] = np.maximum(s["high"], s["last"]), np.minimum(s["low"], s["last"])
        opened = traded * spec.lot_size * rng.integers(-2, 4, len(bid))
        chain.oi = np.maximum(chain.oi + opened, 0)
        s["oi_high"], s["oi_low"] = (
            np.maximum(s["oi_high"], chain.oi),
            np.minimum(s["oi_low"], chain.oi),
        )
        s["trade_ts"] = np.where(traded, int(self.now.timestamp()), s["trade_ts"])

    def tradable_rows(self) -> dict[int, TradableRow]:
        """Every option's quote and full fields, by token: prices in paise, as sent."""
        now = int(self.now.timestamp())
        out: dict[int, TradableRow] = {}
        for chain in self.chains.values():
            s = chain.state
            avg = np.where(s["volume"] > 0, s["turnover"] // np.maximum(s["volume"], 1), s["last"])
            buy, sell = s["bid_qty"].sum(axis=1) * 3, s["ask_qty"].sum(axis=1) * 3
            depth = np.stack([
                np.concatenate([s["bid_qty"], s["ask_qty"]], axis=1),
                np.concatenate([s["bid"], s["ask"]], axis=1),
                np.concatenate([s["bid_orders"], s["ask_orders"]], axis=1),
            ], axis=2).reshape(len(avg), -1)  # fmt: skip
            columns = (
                chain.tokens, s["last"], s["last_qty"], avg, s["volume"], buy, sell, s["open"],
                s["high"], s["low"], s["close"], s["trade_ts"], chain.oi, s["oi_high"], s["oi_low"],
            )  # fmt: skip
            fields = np.column_stack([*columns, np.full_like(avg, now), depth]).tolist()
            out.update((row[0], tuple(row)) for row in fields)
        return out

    def index_rows(self) -> dict[int, IndexRow]:
        """Every index's fields, by token: last, high, low, open, close (the previous
        session's), change (last − close), exchange time; paise and epoch seconds."""
        now = int(self.now.timestamp())
        out: dict[int, IndexRow] = {}
        for name, chain in self.chains.items():
            last, open_, high, low = (int(x) for x in chain.index)
            close = chain.index_close
            out[INDEX_TOKENS[name]] = (
                INDEX_TOKENS[name],
                last,
                high,
                low,
                open_,
                close,
                last - close,
                now,
            )
        return out

    def instruments(self) -> list[Instrument]:
        """The instruments dump: each index, then each option."""
        rows = []
        for name, chain in self.chains.items():
            index = INDEX_NAMES[name]
            rows.append(Instrument(INDEX_TOKENS[name], INDEX_TOKENS[name] >> 8, index, index, 0.0,
                                   None, 0.0, 0.0, 0, "EQ", "INDICES", "NSE"))  # fmt: skip
            for i, token in enumerate(chain.tokens.tolist()):
                rows.append(Instrument(
                    token, token >> 8, chain.symbols[i], name, 0.0, chain.expiry[i],
                    float(chain.strike[i]), 0.05, chain.spec.lot_size,
                    "CE" if chain.is_call[i] else "PE", "NFO-OPT", "NFO",
                ))  # fmt: skip
        return rows


def _paise(rupees: float | NDArray[np.float64]) -> IntArray:
    """Rupees → integer paise (rounded; prices are already on the 0.05 tick)."""
    return np.rint(np.asarray(rupees, np.float64) * 100.0).astype(np.int64)


def index_paise(value: float) -> int:
    """An index value in paise on the 0.05 tick."""
    return round(value * 20.0) * 5 if math.isfinite(value) else 0
