// Wire shapes of the messages and REST answers the dashboard reads.
// Source of truth: common/schemas.py (channel messages) and common/api/*.py (REST).

export type Buildup = "long_buildup" | "short_buildup" | "short_covering" | "long_unwinding";

/** One side (call or put) of one strike of an enriched chain. */
export interface ChainRow {
  strike: number;
  bid: number; // 0 = no quote
  ask: number; // 0 = no quote
  last: number; // 0 = no trade
  volume: number;
  oi: number;
  iv: number | null; // annualised decimal (0.14 = 14 %)
  delta: number | null;
  gamma: number | null;
  theta: number | null;
  vega: number | null;
  rho: number | null;
  oi_change: number | null;
  buildup: Buildup | null;
}

/** `chain_update` / `GET /api/data/chain/{product}`: calls[i] and puts[i] belong to strikes[i]. */
export interface EnrichedChain {
  product: string;
  expiry: string; // YYYY-MM-DD
  timestamp: string; // ISO-8601 UTC with ms
  seq: number;
  spot_price: number;
  strikes: number[];
  calls: ChainRow[];
  puts: ChainRow[];
  pcr_oi: number | null;
  pcr_volume: number | null;
  atm_strike: number | null;
  atm_iv?: number | null;
  atm_straddle_price: number | null;
  expected_move: number | null;
  max_pain_strike: number | null;
  total_call_oi: number;
  total_put_oi: number;
  call_buildup_otm: number | null;
  put_buildup_otm: number | null;
  risk_reversal_25d: number | null;
  butterfly_25d: number | null;
  time_to_expiry?: number | null;
  processed_at: string;
  stale?: boolean;
}

/** A forming candle of the enriched underlying (`start` = bucket start, wire timestamp). */
export interface OhlcCandle {
  start: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** `underlying_update` / `GET /api/data/underlying/{product}`. */
export interface EnrichedUnderlying {
  type: "underlying";
  product: string;
  price: number;
  volume: number;
  timestamp: string;
  seq: number;
  ohlc_1min: OhlcCandle;
  ohlc_5min: OhlcCandle;
  ohlc_15min: OhlcCandle;
  volume_1min: number;
  processed_at: string;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number; // seconds
}

export interface ApiErrorBody {
  error: { code: string; message: string; fields?: Record<string, string[]> | null; trace_id?: string };
}

export interface ProductInfo {
  product: string;
  expiries: string[];
}

export interface ProductsResponse {
  products: ProductInfo[];
  stale?: boolean;
}

/** `GET /api/analytics/{product}/candles` bar (`t` = candle start). */
export interface CandleBar {
  t: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface CandlesResponse {
  product: string;
  interval: string;
  start: string;
  end: string;
  candles: CandleBar[];
  open_candle: CandleBar | null;
}

export interface SeriesPoint {
  t: string;
  pcr_oi?: number | null;
  pcr_volume?: number | null;
  max_pain?: number | null;
  atm_straddle?: number | null;
  atm_iv?: number | null;
}

export interface SeriesResponse {
  product: string;
  expiry: string;
  interval: string;
  metrics: string[];
  start: string;
  end: string;
  points: SeriesPoint[];
}

export interface OiStrike {
  strike: number;
  call_oi_from: number | null;
  call_oi_to: number | null;
  call_oi_change: number | null;
  put_oi_from: number | null;
  put_oi_to: number | null;
  put_oi_change: number | null;
}

export interface OiChangeResponse {
  product: string;
  expiry: string;
  from_timestamp: string | null;
  to_timestamp: string | null;
  strikes: OiStrike[];
}

export type Interval = "1m" | "5m" | "15m";
export const INTERVALS: readonly Interval[] = ["1m", "5m", "15m"];
export const INTERVAL_SECONDS: Record<Interval, number> = { "1m": 60, "5m": 300, "15m": 900 };
