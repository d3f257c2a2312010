// The sources of a reference price (an underlying tick's `sources`, SourcePrice in types.ts):
// tolerant reading at the edge, the order they are listed in, their state labels, their ages on
// the page's clock, how far each is from the reference, and whether the reference is stale.
import { num } from "./format";
import type { EnrichedUnderlying, SourcePrice, SourceState } from "./types";

/** Every state, in the order the list groups them: those in the price first, then the warnings. */
export const SOURCE_STATES: readonly SourceState[] = ["live", "quarantined", "stale", "down"];

/** The state as the list says it (colour is never the only cue). */
export const SOURCE_STATE_LABEL: Record<SourceState, string> = {
  live: "Live",
  quarantined: "Quarantined",
  stale: "Stale",
  down: "Down",
};

/** What each state means, for the hover text and screen readers. */
export const SOURCE_STATE_HINT: Record<SourceState, string> = {
  live: "fresh, part of the reference price",
  quarantined: "off the other sources for too long: left out until it agrees again",
  stale: "no recent update: left out",
  down: "disconnected: left out",
};

export const isSourceState = (v: unknown): v is SourceState => (SOURCE_STATES as readonly unknown[]).includes(v);

function parseSource(v: unknown): SourcePrice | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const price = num(o.price);
  const age = num(o.age_ms);
  if (typeof o.source !== "string" || !o.source || price === null || price <= 0) return null;
  if (age === null || !isSourceState(o.state)) return null;
  return { source: o.source, price, age_ms: Math.max(0, age), state: o.state };
}

/**
 * A tick's `sources` as the dashboard can show them: entries without a name, a positive price, an
 * age or a known state are left out. Null when the field is absent or not a list (not a reference
 * price), so a list emptied by bad entries still says the tick is one.
 */
export function parseSources(value: unknown): SourcePrice[] | null {
  if (!Array.isArray(value)) return null;
  return value.map(parseSource).filter((s): s is SourcePrice => s !== null);
}

/** Live sources first, then quarantined, stale and down; by name within a state. A new array. */
export function orderSources(sources: readonly SourcePrice[]): SourcePrice[] {
  const rank = (s: SourcePrice) => SOURCE_STATES.indexOf(s.state);
  return [...sources].sort((a, b) => rank(a) - rank(b) || a.source.localeCompare(b.source));
}

/**
 * Milliseconds the tick has waited since the worker enriched it (`processed_at`), on the page's
 * clock `now` (epoch ms): what each source's `age_ms` has grown by since. 0 when unknown or when
 * the page's clock is behind the server's.
 */
export function elapsedSince(u: Pick<EnrichedUnderlying, "processed_at">, now: number): number {
  const at = Date.parse(u.processed_at);
  return Number.isFinite(at) && Number.isFinite(now) ? Math.max(0, now - at) : 0;
}

/** A source's age now (ms): its age when the tick was made plus the time since. */
export const sourceAgeMs = (s: SourcePrice, elapsedMs: number): number => s.age_ms + Math.max(0, elapsedMs);

/** A source's age, compact: "120 ms", "1.2 s", "14 s", "3 min", "2 h". */
export function fmtSourceAge(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  const a = Math.round(Math.max(0, ms));
  if (a < 1_000) return `${a} ms`;
  if (a < 10_000) return `${(Math.floor(a / 100) / 10).toFixed(1)} s`;
  if (a < 60_000) return `${Math.floor(a / 1_000)} s`;
  if (a < 3_600_000) return `${Math.floor(a / 60_000)} min`;
  return `${Math.floor(a / 3_600_000)} h`;
}

/** How far `price` is from the reference, in basis points (1 bp = 0.01 %); null without a reference. */
export function deviationBps(price: number, reference: number): number | null {
  return reference > 0 && Number.isFinite(price) ? (price / reference - 1) * 10_000 : null;
}

/** A deviation in basis points, signed and whole: "+155 bp", "−3 bp", "0 bp"; one decimal under 1. */
export function fmtBps(bps: number | null): string {
  if (bps === null || !Number.isFinite(bps)) return "—";
  const a = Math.abs(bps);
  const digits = a > 0 && a < 1 ? 1 : 0;
  const shown = a.toFixed(digits);
  if (Number(shown) === 0) return "0 bp";
  return `${bps > 0 ? "+" : "\u2212"}${shown} bp`;
}

/** The reference is stale: it has sources and none of them is live (it keeps its last good value). */
export const referenceStale = (sources: readonly SourcePrice[]): boolean =>
  sources.length > 0 && !sources.some((s) => s.state === "live");

/** The median of `xs` (the mean of the middle two for an even count); null for none. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * How the reference `price` stands: "live" when it is the median of the live sources, "stale" when
 * none is live, "suspect" when it is not their median (live sources that disagree: the feed holds
 * the last good value).
 */
export type ReferenceState = "live" | "suspect" | "stale";

/** Relative difference under which the price is taken as the live sources' median (float noise). */
const SAME = 1e-9;

export function referenceState(price: number, sources: readonly SourcePrice[]): ReferenceState {
  const m = median(sources.filter((s) => s.state === "live").map((s) => s.price));
  if (m === null) return "stale";
  return Math.abs(price - m) <= SAME * Math.abs(m) ? "live" : "suspect";
}

/**
 * What the reference `price` is made of: "median of 2 live sources of 3", "1 live source of 3",
 * "no live source of 3: last good value", "last good value held: 2 live sources of 2 disagree".
 */
export function referenceNote(price: number, sources: readonly SourcePrice[]): string {
  const live = sources.filter((s) => s.state === "live").length;
  const of = `of ${sources.length}`;
  if (sources.length === 0) return "no source reported";
  const state = referenceState(price, sources);
  if (state === "stale") return `no live source ${of}: last good value`;
  if (state === "suspect") return `last good value held: ${live} live sources ${of} disagree`;
  return live === 1 ? `1 live source ${of}` : `median of ${live} live sources ${of}`;
}
