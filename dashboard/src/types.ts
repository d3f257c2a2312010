// Wire shapes of the channel messages the dashboard reads (source of truth: common/schemas.py).
// REST answers are in api.ts.

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
