// Messages and answers for the unit tests: small, with only what the code under test reads
// (the wire types are generated; a fixture cast to them survives optional additions).
import type { ProductInfo } from "../api";
import type { EnrichedChain, EnrichedUnderlying } from "../types";

export const PRODUCTS: ProductInfo[] = [
  { product: "NIFTY", expiries: ["2026-11-18", "2026-11-26", "2026-12-31"] },
  { product: "BANKNIFTY", expiries: ["2026-11-25", "2026-12-30"] },
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
