// Pure chain logic: moneyness, ATM, the strike window, the series the charts draw.
import { num } from "./format";
import type { OiChangeResponse, SeriesPoint } from "./api";
import type { EnrichedChain } from "./types";

/** Open interest per strike, calls and puts (contracts, or coins on Deribit). */
export type StrikeOi = Map<number, { call: number | null; put: number | null }>;

/** The OI the "change" bars are measured from, and when it was observed (`since`, epoch ms). */
export interface OiBaseline {
  baseline: StrikeOi;
  since: number;
}

/** Where the chain's money is: its forward when it reports one (what the pipeline prices
 * on and sets the ATM strike by), else spot. */
export function moneyLevel(chain: Pick<EnrichedChain, "spot_price" | "forward">): number {
  return num(chain.forward) ?? chain.spot_price;
}

/** A call is in the money below the money level, a put above; the strike at it is neither. */
export function isItm(side: "call" | "put", strike: number, level: number): boolean {
  return side === "call" ? strike < level : strike > level;
}

/** The ATM strike: the message's `atm_strike` when listed, else the listed strike nearest
 * the forward (spot without one), ties low. */
export function atmStrike(
  chain: Pick<EnrichedChain, "strikes" | "spot_price" | "forward" | "atm_strike">,
): number | null {
  const { strikes } = chain;
  if (!strikes.length) return null;
  const given = num(chain.atm_strike);
  if (given !== null && strikes.includes(given)) return given;
  const level = moneyLevel(chain);
  let best = strikes[0];
  for (const k of strikes) {
    if (Math.abs(k - level) < Math.abs(best - level)) best = k;
  }
  return best;
}

/** Indices of the strikes to show: `width` strikes each side of the ATM (all when width is null). */
export function strikeWindow(strikes: number[], atm: number | null, width: number | null): [number, number] {
  if (width === null || atm === null) return [0, strikes.length];
  const i = Math.max(0, strikes.indexOf(atm));
  return [Math.max(0, i - width), Math.min(strikes.length, i + width + 1)];
}

/** Start of the bucket holding `ms`, epoch-aligned (as the series and candle routes align). */
export function bucketStart(ms: number, seconds: number): number {
  const w = seconds * 1000;
  return Math.floor(ms / w) * w;
}

/** Width of a PCR / max-pain history bucket (seconds), as the series route is asked for. */
export const HISTORY_BUCKET_S = 60;

export interface HistoryPoint {
  t: number; // bucket start, epoch ms
  pcr_oi: number | null;
  pcr_volume: number | null;
  max_pain: number | null;
}

export function fromSeries(points: SeriesPoint[]): HistoryPoint[] {
  return points
    .map((p) => ({
      t: Date.parse(p.t),
      pcr_oi: num(p.pcr_oi),
      pcr_volume: num(p.pcr_volume),
      max_pain: num(p.max_pain),
    }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
}

/**
 * Append a chain's statistics to a bucketed history: the chain replaces the point of its bucket
 * (the series route keeps the last snapshot of each bucket) or starts a new one. A chain older
 * than the newest bucket is dropped. Returns the same array, changed in place.
 */
export function appendHistory(
  history: HistoryPoint[],
  chain: Pick<EnrichedChain, "timestamp" | "pcr_oi" | "pcr_volume" | "max_pain_strike">,
  bucketSeconds: number,
  maxPoints = 1500,
): HistoryPoint[] {
  const ms = Date.parse(chain.timestamp);
  if (!Number.isFinite(ms)) return history;
  const point: HistoryPoint = {
    t: bucketStart(ms, bucketSeconds),
    pcr_oi: num(chain.pcr_oi),
    pcr_volume: num(chain.pcr_volume),
    max_pain: num(chain.max_pain_strike),
  };
  const last = history[history.length - 1];
  if (last && point.t < last.t) return history;
  if (last && point.t === last.t) history[history.length - 1] = point;
  else history.push(point);
  if (history.length > maxPoints) history.splice(0, history.length - maxPoints);
  return history;
}

export interface OiBars {
  strikes: number[];
  callOi: (number | null)[];
  putOi: (number | null)[];
  callChange: (number | null)[];
  putChange: (number | null)[];
}

/** OI per strike, and its change against a baseline OI per strike (absent strike: null change). */
export function oiBars(chain: Pick<EnrichedChain, "strikes" | "calls" | "puts">, baseline: StrikeOi | null): OiBars {
  const out: OiBars = { strikes: [], callOi: [], putOi: [], callChange: [], putChange: [] };
  chain.strikes.forEach((k, i) => {
    const c = num(chain.calls[i]?.oi);
    const p = num(chain.puts[i]?.oi);
    const b = baseline?.get(k);
    out.strikes.push(k);
    out.callOi.push(c);
    out.putOi.push(p);
    out.callChange.push(c !== null && b && b.call !== null ? c - b.call : null);
    out.putChange.push(p !== null && b && b.put !== null ? p - b.put : null);
  });
  return out;
}

/** OI per strike at the start of an `oi-change` answer (what "change since" is measured from). */
export function baselineFromOiChange(resp: OiChangeResponse): StrikeOi {
  const m: StrikeOi = new Map();
  for (const s of resp.strikes) m.set(s.strike, { call: num(s.call_oi_from), put: num(s.put_oi_from) });
  return m;
}

/** OI per strike of a chain, as a baseline. */
export function baselineFromChain(chain: Pick<EnrichedChain, "strikes" | "calls" | "puts">): StrikeOi {
  const m: StrikeOi = new Map();
  chain.strikes.forEach((k, i) => m.set(k, { call: num(chain.calls[i]?.oi), put: num(chain.puts[i]?.oi) }));
  return m;
}

export interface SmilePoints {
  call: [number, number][]; // [strike, IV %]
  put: [number, number][];
  otm: [number, number][];
}

/** IV (in percent) against strike for calls, puts and the out-of-the-money side (puts below
 * the forward, spot without one). */
export function smilePoints(
  chain: Pick<EnrichedChain, "strikes" | "calls" | "puts" | "spot_price" | "forward">,
): SmilePoints {
  const out: SmilePoints = { call: [], put: [], otm: [] };
  const level = moneyLevel(chain);
  chain.strikes.forEach((k, i) => {
    const c = num(chain.calls[i]?.iv);
    const p = num(chain.puts[i]?.iv);
    if (c !== null) out.call.push([k, c * 100]);
    if (p !== null) out.put.push([k, p * 100]);
    const o = k < level ? p : c;
    if (o !== null) out.otm.push([k, o * 100]);
  });
  return out;
}

/** Dealer gamma exposure per strike (currency per 1 % move; calls ≥ 0, puts ≤ 0). */
export interface GexBars {
  strikes: number[];
  call: (number | null)[];
  put: (number | null)[];
  net: (number | null)[];
}

/** The rows' `gex` (null where a row has none; net null only when both sides are). */
export function gexBars(chain: Pick<EnrichedChain, "strikes" | "calls" | "puts">): GexBars {
  const out: GexBars = { strikes: [], call: [], put: [], net: [] };
  chain.strikes.forEach((k, i) => {
    const c = num(chain.calls[i]?.gex);
    const p = num(chain.puts[i]?.gex);
    out.strikes.push(k);
    out.call.push(c);
    out.put.push(p);
    out.net.push(c === null && p === null ? null : (c ?? 0) + (p ?? 0));
  });
  return out;
}

/** The listed strike nearest `level` (ties low), or null without strikes or level: where a
 * category axis marks a level between strikes (the gamma flip). */
export function nearestStrike(strikes: number[], level: number | null): number | null {
  if (level === null || !strikes.length) return null;
  let best = strikes[0];
  for (const k of strikes) if (Math.abs(k - level) < Math.abs(best - level)) best = k;
  return best;
}
