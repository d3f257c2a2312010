// What the views derive from the state: the selected product's listing entry, its currency and
// number formats, whether its feed reports it stale, and the one staleness the dashboard shows.
import type { ProductInfo } from "../api";
import { feedFreshness, productFreshness, referenceEntryStale, referenceOfProduct, type Freshness } from "../feeds";
import { formatsFor, type Formats } from "../format";
import { referenceStale } from "../sources";
import { STALE_AFTER_MS, type DashState } from "./model";
import { travelStaleness } from "./travel";

/** The venue of a product or chain that names none. */
export const SYNTHETIC_VENUE = "synthetic";

/** The listing's entry of the selected product; null before the listing or without a product. */
export function selectedProduct(s: DashState): ProductInfo | null {
  const { product } = s.selection;
  return product === null ? null : (s.products.find((p) => p.product === product) ?? null);
}

/**
 * The venue of the selection: its listing's (the product's conventions), else its chain's; a chain
 * naming none comes from the synthetic market. Null before either is known.
 */
export function selectionVenue(s: DashState): string | null {
  const chain = s.data.chain;
  return selectedProduct(s)?.venue ?? chain?.venue ?? (chain ? SYNTHETIC_VENUE : null);
}

/** The currency the selection is shown in: its chain's, else its listing's (INR when neither names one). */
export function selectionCurrency(s: DashState): string {
  return formatsOf(s).currency;
}

/** The number formats of the selection's currency. */
export function formatsOf(s: DashState): Formats {
  return formatsFor(s.data.chain?.currency ?? selectedProduct(s)?.currency);
}

/** Whether the selected product's data is fresh by its feed's health (and its reference feed's). */
export function selectionFreshness(s: DashState): Freshness {
  return productFreshness(s.feeds.list, s.selection.product, selectionVenue(s));
}

/**
 * The selection's reference price is stale: the shown tick lists its sources and none is live, or
 * the reference feed reports the product stale.
 */
export function selectionReferenceStale(s: DashState): boolean {
  const sources = s.data.underlying?.sources;
  if (sources && referenceStale(sources)) return true;
  const { product } = s.selection;
  const reference = s.feeds.list && product ? referenceOfProduct(s.feeds.list, product) : null;
  return reference !== null && referenceEntryStale(reference.entry);
}

/**
 * Why the selection's data is shown stale: its feed's health, its reference price without a live
 * source, the data's own age, or silence.
 */
export type StaleReason = "feed" | "reference" | "age" | "silent";

export interface Staleness {
  reason: StaleReason;
  /** Said on the indicator (its tooltip). */
  text: string;
}

/**
 * Whether the selection's data is stale, and why — the one judgement the badge and the greyed
 * data show, whatever the cause: its feed reports it stale (or no longer reports it); else its
 * reference price has no live source (the last good value is shown); else the server marked the
 * shown chain or tick older than its product's limit (`data_age_stale`, from REST or Socket.IO: a
 * stalled pipeline, a Redis restart); else nothing arrived for 5 s. Null when fresh.
 */
export function selectionStaleness(s: DashState): Staleness | null {
  if (s.travel.at !== null) return travelStaleness(s); // a stored chain: only its own age counts
  if (feedFreshness(s.feeds.list, s.selection.product, selectionVenue(s)) === "stale") {
    return { reason: "feed", text: "Its feed reports no recent data" };
  }
  if (selectionReferenceStale(s)) {
    return { reason: "reference", text: "No live source for its reference price: the last good value is shown" };
  }
  const { chainMarkedAge, spotMarkedAge, stale } = s.data;
  const marked = [chainMarkedAge, spotMarkedAge].filter((a): a is number => a !== null);
  if (marked.length > 0) {
    const age = Math.max(...marked);
    const old = Number.isFinite(age) ? `${age.toFixed(1)} s old` : "old";
    return { reason: "age", text: `The data is ${old}, past its product's limit` };
  }
  if (stale) return { reason: "silent", text: `No update for ${STALE_AFTER_MS / 1000} s` };
  return null;
}
