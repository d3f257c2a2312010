// Wire shapes of the REST answers the dashboard reads (source of truth: common/api/*.py).
// Channel-message shapes live in types.ts (generated from the Python message structs); what a REST
// answer adds to a message is an extension of it here.
import type { EnrichedChain, SourceState } from "./types";

/** `GET /api/data/chain/{product}`: the enriched chain, flagged stale when served past its freshness. */
export type ChainAnswer = EnrichedChain & { stale?: boolean } & DataAgeMark;

/**
 * What a chain or tick carries, from REST or Socket.IO, when its data is older than its product's
 * limit (`stale_after_s`, measured from the origin timestamp when answered or emitted): both
 * members, or neither. Not the cache's `stale` (a copy served while the store fails).
 */
export interface DataAgeMark {
  data_age_stale?: boolean;
  /** Seconds from the data's origin timestamp to the answer. */
  data_age_s?: number;
}

export interface TokenPair {
  access_token: string;
  /** Absent for browsers: logins with refresh_cookie get it as an HttpOnly cookie. */
  refresh_token?: string;
  token_type: string;
  expires_in: number; // seconds
}

export interface ApiErrorBody {
  error: { code: string; message: string; fields?: Record<string, string[]> | null; trace_id?: string };
}

export interface ProductInfo {
  product: string;
  expiries: string[];
  /** The venue of the product's data (synthetic, deribit); absent in an answer cached before it was added. */
  venue?: string;
  /** Currency of its prices, strikes and spot (INR, USD); absent as `venue`. */
  currency?: string;
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

/** One expiry of `GET /api/analytics/{product}/term-structure`. */
export interface TermPoint {
  expiry: string;
  days: number;
  atm_strike: number | null;
  atm_iv: number | null;
}

export interface TermStructureResponse {
  product: string;
  timestamp: string | null;
  points: TermPoint[];
}

/** `GET /api/analytics/{product}/surface`: out-of-the-money IV by expiry (rows) and strike. */
export interface SurfaceResponse {
  product: string;
  timestamp: string | null;
  spot: number | null;
  expiries: string[];
  strikes: number[];
  iv: (number | null)[][];
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

/** A venue's connection state (common/feeds.py FeedState). */
export type FeedState = "connecting" | "live" | "degraded" | "down";

/** `GET /api/feeds`: one product of a venue (common/feeds.py ProductStatus); ages in seconds. */
export interface ProductFeed {
  product: string;
  /** No message for a while, none yet, or its feed is stale. */
  stale: boolean;
  last_message_age_s: number | null;
  messages_per_s: number;
  messages: number;
  dead_letters: number;
  /** The reference venue's products: each source's state (common/feeds.py); null for other venues. */
  sources: FeedSource[] | null;
}

/** One source of a reference price in `GET /api/feeds`; price and age null when not reported. */
export interface FeedSource {
  source: string;
  state: SourceState;
  price: number | null;
  age_s: number | null;
}

/** `GET /api/feeds`: one venue's feed as the service sees it now (common/feeds.py FeedStatus). */
export interface FeedStatus {
  venue: string;
  /** `down` when the snapshot is stale, else the state the connector reported. */
  state: FeedState;
  reported_state: FeedState;
  /** The connector stopped reporting (its snapshot is too old). */
  stale: boolean;
  snapshot_age_s: number;
  at: string;
  state_age_s: number;
  last_message_age_s: number | null;
  messages_per_s: number;
  messages: number;
  reconnects: number;
  resyncs: number;
  dead_letters: number;
  /** The synthetic market's session mode (`simulated` / `exchange`); null for the other venues. */
  session: string | null;
  products: ProductFeed[];
  /** Why the state is what it is, when the connector says more (e.g. `token_expired`); null: nothing. */
  detail: string | null;
}

export interface FeedsResponse {
  feeds: FeedStatus[];
}

export type Interval = "1m" | "5m" | "15m";
export const INTERVALS: readonly Interval[] = ["1m", "5m", "15m"];
export const INTERVAL_SECONDS: Record<Interval, number> = { "1m": 60, "5m": 300, "15m": 900 };
