// The selection lives in the URL hash (#product=NIFTY&expiry=2026-11-26&interval=5m&strikes=10,
// and page=strategy on the strategy page) so a reload or a shared link shows the same view.
import { INTERVALS, type Interval, type ProductInfo } from "./api";

/** The dashboard's pages: the live market, or the strategy builder beside the chain. */
export const PAGES = ["market", "strategy"] as const;
export type Page = (typeof PAGES)[number];

export interface ViewState {
  page: Page;
  product: string | null;
  expiry: string | null;
  interval: Interval;
  strikes: number | null; // strikes each side of ATM; null = all
}

export const STRIKE_WINDOWS: readonly (number | null)[] = [null, 5, 10, 20];

export function parseHash(hash: string): ViewState {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const interval = params.get("interval");
  const strikes = Number(params.get("strikes"));
  const page = params.get("page");
  return {
    page: (PAGES as readonly string[]).includes(page ?? "") ? (page as Page) : "market",
    product: params.get("product") || null,
    expiry: params.get("expiry") || null,
    interval: (INTERVALS as readonly string[]).includes(interval ?? "") ? (interval as Interval) : "1m",
    strikes: STRIKE_WINDOWS.includes(strikes) && strikes > 0 ? strikes : null,
  };
}

export function formatHash(s: ViewState): string {
  const params = new URLSearchParams();
  if (s.page !== "market") params.set("page", s.page);
  if (s.product) params.set("product", s.product);
  if (s.expiry) params.set("expiry", s.expiry);
  if (s.interval !== "1m") params.set("interval", s.interval);
  if (s.strikes !== null) params.set("strikes", String(s.strikes));
  return `#${params.toString()}`;
}

/**
 * The state with product and expiry made valid against the listing: an unknown product becomes
 * the first; an unknown expiry the nearest not yet passed (else the last listed).
 */
export function resolveSelection(s: ViewState, products: ProductInfo[], today: string): ViewState {
  if (!products.length) return { ...s, product: null, expiry: null };
  const info = products.find((p) => p.product === s.product) ?? products[0];
  const expiries = info.expiries;
  let expiry = s.expiry && expiries.includes(s.expiry) ? s.expiry : null;
  if (!expiry) expiry = expiries.find((e) => e >= today) ?? expiries[expiries.length - 1] ?? null;
  return { ...s, product: info.product, expiry };
}
