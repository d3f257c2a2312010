// How answers and live messages change what is shown for the selection. Each function returns
// the state unchanged (the same object) when the message does not apply: an answer for an older
// selection, a chain a little older than the one shown, a REST read after a live one.
import { HISTORY_BUCKET_S, appendHistory, baselineFromChain, type HistoryPoint, type OiBaseline } from "../chain";
import type { Bar } from "../bars";
import { markedAge } from "../messages";
import type { EnrichedChain, EnrichedUnderlying } from "../types";
import { REPLAY_RESET_MS, STALE_AFTER_MS, type DashState, type SelectionData } from "./model";

const withData = (s: DashState, patch: Partial<SelectionData>): DashState => ({ ...s, data: { ...s.data, ...patch } });

const baselineOf = (chain: EnrichedChain): OiBaseline => ({
  baseline: baselineFromChain(chain),
  since: Date.parse(chain.timestamp),
});

/** The history with the chain's statistics in their bucket (the same array when unchanged). */
function withPoint(history: HistoryPoint[], chain: EnrichedChain): HistoryPoint[] {
  const next = appendHistory([...history], chain, HISTORY_BUCKET_S);
  const same = next.length === history.length && next[next.length - 1] === history[history.length - 1];
  return same ? history : next;
}

/** A chain from the socket (`live`) or from the REST read of selection `gen`. */
export function applyChain(s: DashState, chain: EnrichedChain, now: number, live: boolean, gen?: number): DashState {
  const { product, expiry } = s.selection;
  if (chain.product !== product || chain.expiry !== expiry) return s;
  let d = s.data;
  if (!live && (gen !== d.gen || d.liveChainSeen)) return s;
  if (live && !d.liveChainSeen) d = { ...d, liveChainSeen: true };
  // A late message a little older than what is shown is dropped; one much older means the feed
  // restarted (a replayed capture) and is taken as the new truth.
  const back = d.chain ? Date.parse(d.chain.timestamp) - Date.parse(chain.timestamp) : 0;
  if (back > 0 && back < REPLAY_RESET_MS) return d === s.data ? s : { ...s, data: d };
  // Nothing stored an hour ago: the change is measured from the first chain seen here.
  const baseline = !d.baselinePending && !d.baseline ? baselineOf(chain) : d.baseline;
  const history = withPoint(d.history, chain);
  const chainMarkedAge = markedAge(chain);
  return {
    ...s,
    data: { ...d, chain, chainMessage: null, lastUpdateAt: now, stale: false, chainMarkedAge, baseline, history },
  };
}

export function chainFailed(s: DashState, gen: number, message: string): DashState {
  if (gen !== s.data.gen || s.data.liveChainSeen) return s;
  return withData(s, { chainMessage: message });
}

/** An underlying tick from the socket (`live`) or the REST read of selection `gen`. */
export function applyUnderlying(
  s: DashState,
  u: EnrichedUnderlying,
  now: number,
  live: boolean,
  gen?: number,
): DashState {
  if (u.product !== s.selection.product) return s;
  const spotMarkedAge = markedAge(u);
  if (!live) return gen !== s.data.gen || s.data.liveSpotSeen ? s : withData(s, { underlying: u, spotMarkedAge });
  const next = withData(s, { underlying: u, liveSpotSeen: true, lastUpdateAt: now, stale: false, spotMarkedAge });
  // Live ticks build the forming candle: the "no candles yet" note goes.
  return s.candles.note === null ? next : { ...next, candles: { ...next.candles, note: null } };
}

/** The route's baseline, or none (nothing stored an hour ago, or it failed): then the first chain's. */
export function applyBaseline(s: DashState, gen: number, baseline: OiBaseline | null): DashState {
  const d = s.data;
  if (gen !== d.gen) return s;
  const fallback = d.chain && !d.baseline ? baselineOf(d.chain) : d.baseline;
  return withData(s, { baselinePending: false, baseline: baseline ?? fallback });
}

/** The series route's history, followed by the live points newer than its last. */
export function applyHistory(s: DashState, gen: number, points: HistoryPoint[], note: string | null): DashState {
  if (gen !== s.data.gen) return s;
  const last = points[points.length - 1];
  const live = s.data.history.filter((p) => !last || p.t > last.t);
  return withData(s, { history: [...points, ...live], historyLoaded: true, historyNote: note });
}

export function applyCandles(s: DashState, gen: number, bars: Bar[], note: string | null): DashState {
  if (gen !== s.candles.gen) return s;
  return { ...s, candles: { gen, bars, note } };
}

/** The clock moved on: the data is stale after STALE_AFTER_MS without an update. */
export function tick(s: DashState, now: number): DashState {
  const { lastUpdateAt, stale } = s.data;
  const next = lastUpdateAt === null ? stale : now - lastUpdateAt > STALE_AFTER_MS;
  return next === stale ? { ...s, now } : { ...s, now, data: { ...s.data, stale: next } };
}
