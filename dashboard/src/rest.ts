// The REST reads of the dashboard, parsed into what the views draw. Errors are ApiError (auth.ts);
// each read takes an AbortSignal, so a read for a selection left behind can be cancelled.
import type { Auth } from "./auth";
import { baselineFromOiChange, fromSeries, type HistoryPoint, type OiBaseline } from "./chain";
import { barFromRest, type Bar } from "./bars";
import { parseFeeds } from "./feeds";
import { parseChain, parseUnderlying } from "./messages";
import {
  INTERVAL_SECONDS,
  type CandlesResponse,
  type ChainAnswer,
  type FeedStatus,
  type Interval,
  type OiChangeResponse,
  type ProductInfo,
  type ProductsResponse,
  type SeriesResponse,
  type SurfaceResponse,
  type TermPoint,
  type TermStructureResponse,
} from "./api";
import type { EnrichedUnderlying } from "./types";

/** Candles asked for on load (the route allows 1,500 buckets). */
export const CANDLE_BARS = 300;
/** PCR / max-pain history asked for on load (one-minute buckets). */
export const HISTORY_SPAN_MS = 6 * 3600_000;

const enc = encodeURIComponent;

export class Rest {
  /** `now`: the client clock (epoch ms) that the history and candle windows end at. */
  constructor(
    private readonly auth: Pick<Auth, "api">,
    private readonly now: () => number = Date.now,
  ) {}

  async products(signal?: AbortSignal): Promise<ProductInfo[]> {
    const resp = await this.auth.api<ProductsResponse>("/api/products", { signal });
    return Array.isArray(resp.products) ? resp.products : [];
  }

  /** Each venue's feed health, by venue. */
  async feeds(signal?: AbortSignal): Promise<FeedStatus[]> {
    return parseFeeds(await this.auth.api<unknown>("/api/feeds", { signal }));
  }

  async chain(product: string, expiry: string, signal?: AbortSignal): Promise<ChainAnswer | null> {
    const path = `/api/data/chain/${enc(product)}?expiry=${enc(expiry)}`;
    return parseChain(await this.auth.api<unknown>(path, { signal }));
  }

  /** The newest chain of `expiry` stored at or before `at` (epoch ms): time travel. */
  async chainAt(product: string, expiry: string, at: number, signal?: AbortSignal): Promise<ChainAnswer | null> {
    const path = `/api/data/chain/${enc(product)}?expiry=${enc(expiry)}&at=${enc(new Date(at).toISOString())}`;
    return parseChain(await this.auth.api<unknown>(path, { signal }));
  }

  async underlying(product: string, signal?: AbortSignal): Promise<EnrichedUnderlying | null> {
    return parseUnderlying(await this.auth.api<unknown>(`/api/data/underlying/${enc(product)}`, { signal }));
  }

  /**
   * OI per strike an hour ago (the oi-change route's `from` side), or an hour before `at` (epoch ms)
   * when given; null when nothing was stored then.
   */
  async oiBaseline(
    product: string,
    expiry: string,
    signal?: AbortSignal,
    at: number | null = null,
  ): Promise<OiBaseline | null> {
    const to = at === null ? "" : `&to=${enc(new Date(at).toISOString())}`;
    const path = `/api/analytics/${enc(product)}/oi-change?expiry=${enc(expiry)}${to}`;
    const resp = await this.auth.api<OiChangeResponse>(path, { signal });
    const since = resp.from_timestamp ? Date.parse(resp.from_timestamp) : NaN;
    return Number.isFinite(since) && resp.strikes?.length ? { baseline: baselineFromOiChange(resp), since } : null;
  }

  async history(product: string, expiry: string, signal?: AbortSignal): Promise<HistoryPoint[]> {
    const query = `expiry=${enc(expiry)}&interval=1m&metrics=pcr_oi,pcr_volume,max_pain&start=${enc(this.isoAgo(HISTORY_SPAN_MS))}`;
    const resp = await this.auth.api<SeriesResponse>(`/api/analytics/${enc(product)}/series?${query}`, { signal });
    return fromSeries(resp.points ?? []);
  }

  /** Closed candles of the last CANDLE_BARS intervals and the one still forming. */
  async candles(product: string, interval: Interval, signal?: AbortSignal): Promise<Bar[]> {
    const start = this.isoAgo(CANDLE_BARS * INTERVAL_SECONDS[interval] * 1000);
    const path = `/api/analytics/${enc(product)}/candles?interval=${interval}&start=${enc(start)}`;
    const resp = await this.auth.api<CandlesResponse>(path, { signal });
    return [...(resp.candles ?? []), ...(resp.open_candle ? [resp.open_candle] : [])]
      .map(barFromRest)
      .filter((b): b is Bar => b !== null);
  }

  /** ATM IV by expiry from the newest chain of each live expiry. */
  async termStructure(product: string, signal?: AbortSignal): Promise<TermPoint[]> {
    const resp = await this.auth.api<TermStructureResponse>(`/api/analytics/${enc(product)}/term-structure`, {
      signal,
    });
    return Array.isArray(resp.points) ? resp.points : [];
  }

  /** The IV surface: the worker's, else built from the newest chain of each live expiry. */
  async surface(product: string, signal?: AbortSignal): Promise<SurfaceResponse> {
    return this.auth.api<SurfaceResponse>(`/api/analytics/${enc(product)}/surface`, { signal });
  }

  private isoAgo(ms: number): string {
    return new Date(this.now() - ms).toISOString();
  }
}
