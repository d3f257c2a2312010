// The REST reads of the dashboard, parsed into what the views draw. Errors are ApiError (auth.ts).
import type { Auth } from "./auth";
import { baselineFromOiChange, fromSeries, type HistoryPoint } from "./chain";
import { barFromRest, type Bar } from "./charts/candleChart";
import { parseChain, parseUnderlying } from "./messages";
import {
  INTERVAL_SECONDS,
  type CandlesResponse,
  type ChainAnswer,
  type Interval,
  type OiChangeResponse,
  type ProductInfo,
  type ProductsResponse,
  type SeriesResponse,
} from "./api";
import type { EnrichedUnderlying } from "./types";

/** Candles asked for on load (the route allows 1,500 buckets). */
export const CANDLE_BARS = 300;
/** PCR / max-pain history asked for on load (one-minute buckets). */
export const HISTORY_SPAN_MS = 6 * 3600_000;

const enc = encodeURIComponent;
const isoAgo = (ms: number) => new Date(Date.now() - ms).toISOString();

export type OiBaseline = { baseline: Map<number, { call: number | null; put: number | null }>; since: number };

export class Rest {
  constructor(private readonly auth: Auth) {}

  async products(): Promise<ProductInfo[]> {
    const resp = await this.auth.api<ProductsResponse>("/api/products");
    return Array.isArray(resp.products) ? resp.products : [];
  }

  async chain(product: string, expiry: string): Promise<ChainAnswer | null> {
    return parseChain(await this.auth.api<unknown>(`/api/data/chain/${enc(product)}?expiry=${enc(expiry)}`));
  }

  async underlying(product: string): Promise<EnrichedUnderlying | null> {
    return parseUnderlying(await this.auth.api<unknown>(`/api/data/underlying/${enc(product)}`));
  }

  /** OI per strike an hour ago (the oi-change route's `from` side); null when nothing was stored then. */
  async oiBaseline(product: string, expiry: string): Promise<OiBaseline | null> {
    const resp = await this.auth.api<OiChangeResponse>(
      `/api/analytics/${enc(product)}/oi-change?expiry=${enc(expiry)}`,
    );
    const since = resp.from_timestamp ? Date.parse(resp.from_timestamp) : NaN;
    return Number.isFinite(since) && resp.strikes?.length ? { baseline: baselineFromOiChange(resp), since } : null;
  }

  async history(product: string, expiry: string): Promise<HistoryPoint[]> {
    const query = `expiry=${enc(expiry)}&interval=1m&metrics=pcr_oi,pcr_volume,max_pain&start=${enc(isoAgo(HISTORY_SPAN_MS))}`;
    const resp = await this.auth.api<SeriesResponse>(`/api/analytics/${enc(product)}/series?${query}`);
    return fromSeries(resp.points ?? []);
  }

  /** Closed candles of the last CANDLE_BARS intervals and the one still forming. */
  async candles(product: string, interval: Interval): Promise<Bar[]> {
    const start = isoAgo(CANDLE_BARS * INTERVAL_SECONDS[interval] * 1000);
    const resp = await this.auth.api<CandlesResponse>(
      `/api/analytics/${enc(product)}/candles?interval=${interval}&start=${enc(start)}`,
    );
    return [...(resp.candles ?? []), ...(resp.open_candle ? [resp.open_candle] : [])]
      .map(barFromRest)
      .filter((b): b is Bar => b !== null);
  }
}
