// Feed health (`GET /api/feeds`) as the dashboard reads it: tolerant parsing, the feed that
// reports a product, whether a product is stale by its feed or its reference price, and the
// labels of the status strip (a venue's state and detail, such as an expired access token).
import type { FeedSource, FeedState, FeedStatus, ProductFeed } from "./api";
import { DASH, num } from "./format";
import { asObject } from "./messages";
import { isSourceState, SOURCE_STATE_LABEL } from "./sources";

const STATES: readonly FeedState[] = ["connecting", "live", "degraded", "down"];
const isState = (v: unknown): v is FeedState => (STATES as readonly unknown[]).includes(v);
const count = (v: unknown): number => num(v) ?? 0;
const age = (v: unknown): number | null => num(v);
const text = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v.trim() : null);

/** The venue that publishes the reference price of the products priced by several sources. */
export const REFERENCE_VENUE = "reference";

/** A source of a reference product: its age from `age_s`, else `age_ms`; left out without a name or known state. */
function parseSource(payload: unknown): FeedSource | null {
  const s = asObject(payload);
  if (!s || typeof s.source !== "string" || !s.source || !isSourceState(s.state)) return null;
  const ms = num(s.age_ms);
  return {
    source: s.source,
    state: s.state,
    price: num(s.price),
    age_s: num(s.age_s) ?? (ms === null ? null : ms / 1000),
  };
}

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
    sources: Array.isArray(p.sources) ? p.sources.map(parseSource).filter((x): x is FeedSource => x !== null) : null,
  };
}

/**
 * One venue, or null without a name. A state this page does not know (a newer service) is shown
 * `down`, the state's name kept as its detail, rather than the venue left out.
 */
function parseFeed(payload: unknown): FeedStatus | null {
  const f = asObject(payload);
  if (!f || typeof f.venue !== "string" || !f.venue || typeof f.state !== "string" || !f.state) return null;
  const products = Array.isArray(f.products) ? f.products.map(parseProduct) : [];
  const state = isState(f.state) ? f.state : "down";
  return {
    venue: f.venue,
    state,
    reported_state: isState(f.reported_state) ? f.reported_state : state,
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
    detail: text(f.detail) ?? (isState(f.state) ? null : f.state),
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

/** A feed runs `venue` itself or its local simulator (`deribit-sim` is deribit's). */
const runs = (feed: FeedStatus, venue: string): boolean => feed.venue === venue || feed.venue === `${venue}-sim`;

/**
 * The feed reporting `product`'s data: the one of its listed `venue` (or that venue's simulator)
 * when that one reports it, else a fresh report before a stale one; null when none does. The
 * reference venue is not a product's feed (referenceOfProduct); spot sources that also report the
 * product (binance, coinbase) are not preferred over its venue.
 */
export function feedOfProduct(
  feeds: readonly FeedStatus[],
  product: string,
  venue: string | null = null,
): ProductSource | null {
  let found: ProductSource | null = null;
  for (const feed of feeds) {
    const entry = feed.venue === REFERENCE_VENUE ? undefined : feed.products.find((p) => p.product === product);
    if (!entry) continue;
    if (venue !== null && runs(feed, venue)) return { feed, entry };
    if (!found || (found.entry.stale && !entry.stale)) found = { feed, entry };
  }
  return found;
}

/** The reference venue's report of `product`; null when its price has a single source. */
export function referenceOfProduct(feeds: readonly FeedStatus[], product: string): ProductSource | null {
  const feed = feeds.find((f) => f.venue === REFERENCE_VENUE);
  const entry = feed?.products.find((p) => p.product === product);
  return feed && entry ? { feed, entry } : null;
}

/** A reference product is stale: its report says so, or it lists its sources and none is live. */
export const referenceEntryStale = (entry: ProductFeed): boolean =>
  entry.stale || (entry.sources !== null && !entry.sources.some((s) => s.state === "live"));

export type Freshness = "fresh" | "stale" | "unknown";

/**
 * Whether `product`'s data is fresh by its feed's health (the feed of `venue`, its listed venue,
 * when that one reports it). "unknown" before the first answer and when no feed reports its health
 * at all (a replayed capture publishes none); "stale" when its feed says so, when feeds report but
 * none of them this product (its feed is not running), or when its reference price is stale.
 */
export function productFreshness(
  feeds: readonly FeedStatus[] | null,
  product: string | null,
  venue: string | null = null,
): Freshness {
  const byFeed = feedFreshness(feeds, product, venue);
  if (byFeed !== "fresh" || feeds === null || product === null) return byFeed;
  const reference = referenceOfProduct(feeds, product);
  return reference !== null && referenceEntryStale(reference.entry) ? "stale" : "fresh";
}

/** productFreshness by the product's own feed only, its reference price left aside. */
export function feedFreshness(
  feeds: readonly FeedStatus[] | null,
  product: string | null,
  venue: string | null = null,
): Freshness {
  if (feeds === null || product === null || feeds.length === 0) return "unknown";
  const source = feedOfProduct(feeds, product, venue);
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

/** The detail a connector reports when the venue refused its access token (Kite's daily logout). */
export const TOKEN_EXPIRED = "token_expired";

export const tokenExpired = (f: FeedStatus): boolean => f.detail === TOKEN_EXPIRED;

/** A venue's state as the strip says it: "Access token expired" rather than "Down" when it is why. */
export const feedStateLabel = (f: FeedStatus): string =>
  tokenExpired(f) ? "Access token expired" : FEED_STATE_LABEL[f.state];

/** Longest detail shown in the strip (characters); the hover text has all of it. */
const DETAIL_MAX = 80;

/**
 * What the strip says beside the state: what to do about an expired token, else the connector's
 * detail (a code such as `rest_only` read as words); null when there is none.
 */
export function feedDetailText(f: FeedStatus): string | null {
  if (tokenExpired(f)) return "reconnecting paused until a new access token is set";
  if (f.detail === null) return null;
  const words = /^[a-z0-9]+(_[a-z0-9]+)+$/.test(f.detail) ? f.detail.replaceAll("_", " ") : f.detail;
  return words.length > DETAIL_MAX ? `${words.slice(0, DETAIL_MAX - 1)}…` : words;
}

/**
 * The reference venue's products in a few words: "BTC 3/3 live · ETH 2/3 live (coinbase
 * quarantined)", the sources not live named with their state; null for a venue without sources.
 */
export function referenceSummary(f: FeedStatus): string | null {
  const parts = f.products
    .filter((p) => p.sources !== null)
    .map((p) => {
      const sources = p.sources ?? [];
      const live = sources.filter((s) => s.state === "live").length;
      const out = sources.filter((s) => s.state !== "live");
      const named = out.map((s) => `${s.source} ${SOURCE_STATE_LABEL[s.state].toLowerCase()}`).join(", ");
      return `${p.product} ${live}/${sources.length} live${named ? ` (${named})` : ""}`;
    });
  return parts.length ? parts.join(" · ") : null;
}

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
