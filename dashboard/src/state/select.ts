// What the views derive from the state: the selected product's listing entry, its currency and
// number formats, and whether its feed reports it stale.
import type { ProductInfo } from "../api";
import { productFreshness, type Freshness } from "../feeds";
import { formatsFor, type Formats } from "../format";
import type { DashState } from "./model";

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

/** Whether the selected product's data is fresh by its feed's health. */
export function selectionFreshness(s: DashState): Freshness {
  return productFreshness(s.feeds.list, s.selection.product);
}
