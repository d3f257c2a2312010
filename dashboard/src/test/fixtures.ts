// Messages and answers for the unit tests: small, with only what the code under test reads
// (the wire types are generated; a fixture cast to them survives optional additions).
import type { FeedStatus, ProductInfo } from "../api";
import type { EnrichedChain, EnrichedUnderlying } from "../types";

export const PRODUCTS: ProductInfo[] = [
  { product: "NIFTY", expiries: ["2026-11-18", "2026-11-26", "2026-12-31"], venue: "synthetic", currency: "INR" },
  { product: "BANKNIFTY", expiries: ["2026-11-25", "2026-12-30"], venue: "synthetic", currency: "INR" },
  { product: "BTC", expiries: ["2026-11-22", "2026-11-27"], venue: "deribit", currency: "USD" },
];
/** Local date of the tests: the NIFTY expiry of 2026-11-18 has passed. */
export const TODAY = "2026-11-21";

/** An enriched NIFTY 2026-11-26 chain of two strikes (call OI 100, put OI 200) at `timestamp`. */
export function chain(timestamp: string, extra: Partial<EnrichedChain> = {}): EnrichedChain {
  const row = (strike: number, oi: number) => ({ strike, bid: 1, ask: 2, last: 1.5, volume: 10, oi, iv: 0.2 });
  return {
    product: "NIFTY",
    expiry: "2026-11-26",
    timestamp,
    seq: 1,
    spot_price: 24010,
    strikes: [24000, 24050],
    calls: [row(24000, 100), row(24050, 100)],
    puts: [row(24000, 200), row(24050, 200)],
    pcr_oi: 2,
    pcr_volume: 1,
    max_pain_strike: 24000,
    ...extra,
  } as unknown as EnrichedChain;
}

export function underlying(price: number, product = "NIFTY"): EnrichedUnderlying {
  return {
    type: "underlying",
    product,
    price,
    volume: 1,
    timestamp: "2026-11-21T09:41:00.000Z",
    seq: 1,
  } as EnrichedUnderlying;
}

/**
 * A Deribit BTC 2026-11-27 chain as the worker enriches it: USD prices (normalised from the coin),
 * strikes in thousands, open interest in coins (fractional), the venue's forward and mark IVs.
 */
export function btcChain(timestamp: string, extra: Partial<EnrichedChain> = {}): EnrichedChain {
  const row = (strike: number, bid: number, ask: number, oi: number, iv: number, markIv: number) => ({
    strike,
    bid,
    ask,
    last: 0,
    volume: 12.3,
    oi,
    mark: (bid + ask) / 2,
    mark_iv: markIv,
    iv,
    delta: 0.5,
    oi_change: 0.1,
    buildup: null,
  });
  return {
    product: "BTC",
    expiry: "2026-11-27",
    timestamp,
    seq: 7,
    spot_price: 95123.45,
    strikes: [94000, 95000, 96000],
    calls: [
      row(94000, 2950.12, 3050.4, 512.5, 0.5512, 0.5508),
      row(95000, 2301.5, 2398.75, 1234.5, 0.5431, 0.543),
      row(96000, 1790.3, 1880.1, 640, 0.5377, 0.538),
    ],
    puts: [
      row(94000, 1690.2, 1781.9, 380.2, 0.5509, 0.5508),
      row(95000, 2100.7, 2199.3, 990, 0.5433, 0.543),
      row(96000, 2650.4, 2750.6, 101.5, 0.5379, 0.538),
    ],
    pcr_oi: 0.62,
    pcr_volume: 1,
    max_pain_strike: 95000,
    atm_strike: 95000,
    total_call_oi: 2387,
    total_put_oi: 1471.7,
    venue: "deribit",
    currency: "USD",
    forward: 95250.5,
    forward_source: "venue",
    expiry_ts: "2026-11-27T08:00:00.000Z",
    ...extra,
  } as unknown as EnrichedChain;
}

/** `GET /api/feeds` as storage_service answers it (common/feeds.py FeedsAnswer, by venue): Deribit
 *  with ETH stale, and the synthetic market in its simulated session; neither has a detail or sources. */
export const FEEDS_ANSWER = {
  feeds: [
    {
      venue: "deribit",
      state: "live",
      reported_state: "live",
      stale: false,
      snapshot_age_s: 1.1,
      at: "2026-11-21T09:44:58.900Z",
      state_age_s: 120,
      last_message_age_s: 0.4,
      messages_per_s: 24.04,
      messages: 2_880,
      reconnects: 1,
      resyncs: 2,
      dead_letters: 0,
      session: null,
      detail: null,
      products: [
        {
          product: "BTC",
          stale: false,
          last_message_age_s: 0.4,
          messages_per_s: 12,
          messages: 1_440,
          dead_letters: 0,
          sources: null,
        },
        {
          product: "ETH",
          stale: true,
          last_message_age_s: 14.2,
          messages_per_s: 0,
          messages: 1_440,
          dead_letters: 0,
          sources: null,
        },
      ],
    },
    {
      venue: "synthetic",
      state: "live",
      reported_state: "live",
      stale: false,
      snapshot_age_s: 0.8,
      at: "2026-11-21T09:44:59.200Z",
      state_age_s: 310.4,
      last_message_age_s: 0.05,
      messages_per_s: 412.6,
      messages: 128_004,
      reconnects: 0,
      resyncs: 0,
      dead_letters: 0,
      session: "simulated",
      detail: null,
      products: [
        {
          product: "BANKNIFTY",
          stale: false,
          last_message_age_s: 0.1,
          messages_per_s: 50,
          messages: 15_000,
          dead_letters: 0,
          sources: null,
        },
        {
          product: "NIFTY",
          stale: false,
          last_message_age_s: 0.05,
          messages_per_s: 60,
          messages: 18_000,
          dead_letters: 0,
          sources: null,
        },
      ],
    },
  ],
};

/** The feeds of FEEDS_ANSWER, typed. */
export const FEEDS = FEEDS_ANSWER.feeds as FeedStatus[];

/**
 * A BTC reference tick as the worker enriches it: the median of deribit (96,990) and binance
 * (97,010) is 97,000; coinbase, 1.55 % (155 bp) above at 98,503.50, is quarantined.
 */
export function referenceTick(extra: Partial<EnrichedUnderlying> = {}): EnrichedUnderlying {
  return {
    type: "underlying",
    product: "BTC",
    price: 97_000,
    volume: 0,
    timestamp: "2026-11-21T09:41:00.000Z",
    seq: 12,
    venue: "deribit",
    currency: "USD",
    sources: [
      { source: "deribit", price: 96_990, age_ms: 250, state: "live" },
      { source: "coinbase", price: 98_503.5, age_ms: 1_200, state: "quarantined" },
      { source: "binance", price: 97_010, age_ms: 40, state: "live" },
    ],
    processed_at: "2026-11-21T09:41:00.300Z",
    ...extra,
  } as EnrichedUnderlying;
}

const product = (name: string, stale: boolean, sources: unknown = null) => ({
  product: name,
  stale,
  last_message_age_s: stale ? 30 : 0.3,
  messages_per_s: stale ? 0 : 4,
  messages: 900,
  dead_letters: 0,
  sources,
});

/**
 * `GET /api/feeds` with the reference venue (BTC from three sources, coinbase quarantined; ETH with
 * none live) and Kite down because its access token expired, beside FEEDS_ANSWER's two venues.
 */
export const REFERENCE_FEEDS_ANSWER = {
  feeds: [
    ...FEEDS_ANSWER.feeds,
    {
      ...FEEDS_ANSWER.feeds[0],
      venue: "reference",
      products: [
        product("BTC", false, [
          { source: "deribit", state: "live", price: 96_990, age_s: 0.25 },
          { source: "binance", state: "live", price: 97_010, age_s: 0.04 },
          { source: "coinbase", state: "quarantined", price: 98_503.5, age_s: 1.2 },
        ]),
        product("ETH", false, [
          { source: "deribit", state: "stale", price: 3_500, age_s: 12 },
          { source: "binance", state: "down", price: 3_501, age_s: 40 },
        ]),
      ],
    },
    {
      ...FEEDS_ANSWER.feeds[0],
      venue: "kite",
      state: "down",
      reported_state: "down",
      detail: "token_expired",
      products: [product("NIFTY", true), product("BANKNIFTY", true)],
    },
  ],
};
