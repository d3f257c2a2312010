// Feed health (`GET /api/feeds`) as the dashboard reads it: tolerant parsing, the feed that
// reports a product, whether a product is stale by its feed, and the labels of the status strip.
import type { FeedState, FeedStatus, ProductFeed } from "./api";
import { DASH, num } from "./format";
import { asObject } from "./messages";

const STATES: readonly FeedState[] = ["connecting", "live", "degraded", "down"];
const isState = (v: unknown): v is FeedState => (STATES as readonly unknown[]).includes(v);
const count = (v: unknown): number => num(v) ?? 0;
const age = (v: unknown): number | null => num(v);

function parseProduct(payload: unknown): ProductFeed | null {
  const p = asObject(payload);
  if (!p || typeof p.product !== "string" || !p.product) return null;
  return {
    product: p.product,
    stale: p.stale === true,
    last_message_age_s: age(p.last_message_age_s),
    messages_per_s: count(p.messages_per_s),
    messages: count(p.messages),
    dead_letters: count(p.dead_letters),
  };
}

function parseFeed(payload: unknown): FeedStatus | null {
  const f = asObject(payload);
  if (!f || typeof f.venue !== "string" || !f.venue || !isState(f.state)) return null;
  const products = Array.isArray(f.products) ? f.products.map(parseProduct) : [];
  return {
    venue: f.venue,
    state: f.state,
    reported_state: isState(f.reported_state) ? f.reported_state : f.state,
    stale: f.stale === true,
    snapshot_age_s: count(f.snapshot_age_s),
    at: typeof f.at === "string" ? f.at : "",
    state_age_s: count(f.state_age_s),
    last_message_age_s: age(f.last_message_age_s),
    messages_per_s: count(f.messages_per_s),
    messages: count(f.messages),
    reconnects: count(f.reconnects),
    resyncs: count(f.resyncs),
    dead_letters: count(f.dead_letters),
    session: typeof f.session === "string" && f.session ? f.session : null,
    products: products.filter((p): p is ProductFeed => p !== null),
  };
}

/** The feeds of an answer, by venue; an entry without a venue or a known state is left out. */
export function parseFeeds(payload: unknown): FeedStatus[] {
  const m = asObject(payload);
  const feeds = m && Array.isArray(m.feeds) ? m.feeds.map(parseFeed) : [];
  return feeds.filter((f): f is FeedStatus => f !== null).sort((a, b) => a.venue.localeCompare(b.venue));
}

export interface ProductSource {
  feed: FeedStatus;
  entry: ProductFeed;
}

/** The feed reporting `product` (a fresh report before a stale one); null when none does. */
export function feedOfProduct(feeds: readonly FeedStatus[], product: string): ProductSource | null {
  let found: ProductSource | null = null;
  for (const feed of feeds) {
    const entry = feed.products.find((p) => p.product === product);
    if (entry && (!found || (found.entry.stale && !entry.stale))) found = { feed, entry };
  }
  return found;
}

export type Freshness = "fresh" | "stale" | "unknown";

/**
 * Whether `product`'s data is fresh by its feed's health. "unknown" before the first answer and
 * when no feed reports its health at all (a replayed capture publishes none); "stale" when its
 * feed says so, or when feeds report but none of them this product (its feed is not running).
 */
export function productFreshness(feeds: readonly FeedStatus[] | null, product: string | null): Freshness {
  if (feeds === null || product === null || feeds.length === 0) return "unknown";
  const source = feedOfProduct(feeds, product);
  return source === null || source.entry.stale ? "stale" : "fresh";
}

/** Products that a feed streams (not stale) but that `listed` lacks: the listing is behind. */
export function unlistedProducts(feeds: readonly FeedStatus[], listed: readonly { product: string }[]): string[] {
  const known = new Set(listed.map((p) => p.product));
  const out = new Set<string>();
  for (const feed of feeds) for (const p of feed.products) if (!p.stale && !known.has(p.product)) out.add(p.product);
  return [...out].sort();
}

export const FEED_STATE_LABEL: Record<FeedState, string> = {
  connecting: "Connecting",
  live: "Live",
  degraded: "Degraded",
  down: "Down",
};

/** The synthetic market's session mode, as the strip names it. */
export function sessionLabel(session: string | null): string | null {
  if (session === "simulated") return "simulated session";
  if (session === "exchange") return "exchange calendar";
  return session ? `${session} session` : null;
}

/** A message age in seconds: "0.4 s ago" under 10 s, "12 s ago", "3 min ago"; "no messages yet" for none. */
export function fmtMessageAge(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "no messages yet";
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)} s ago`;
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** Messages per second: "12.3 msg/s", whole above 100. */
export function fmtRate(perSecond: number): string {
  const r = num(perSecond);
  if (r === null) return DASH;
  return `${r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1)} msg/s`;
}
