// Candles as the chart draws them, from the candles route or the forming candle of a live tick.
import type { CandleBar } from "./api";
import type { OhlcCandle } from "./types";

/** One candle: `time` = bucket start in epoch seconds; prices in the underlying's currency. */
export interface Bar {
  time: number; // epoch seconds
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export function barFromRest(c: CandleBar): Bar | null {
  const t = Date.parse(c.t);
  return Number.isFinite(t)
    ? { time: Math.floor(t / 1000), open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume ?? 0 }
    : null;
}

export function barFromLive(c: OhlcCandle | undefined): Bar | null {
  if (!c) return null;
  const t = Date.parse(c.start);
  return Number.isFinite(t)
    ? { time: Math.floor(t / 1000), open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume ?? 0 }
    : null;
}
