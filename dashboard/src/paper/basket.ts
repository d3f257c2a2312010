// The strategy's legs as one paper basket (`POST /api/paper/baskets`): each leg a MARKET order
// with its own client_order_id, made once per click and kept for retries of the same legs, so a
// double click or a retry is answered with the orders already placed, never a second placement;
// and what the answer means to the user (filled, rejected with the reason naming the leg, a stale
// market, a refused field under its leg).
import { ApiError, describeError } from "../auth";
import type { FieldErrors, LegDraft } from "../strategy/legs";
import { dec, type PaperOrder } from "./model";

/** A basket's legs (common/api/paper.py MIN_LEGS, MAX_LEGS). */
export const MIN_BASKET = 2;
export const MAX_BASKET = 8;

export interface BasketLegBody {
  client_order_id: string;
  product: string;
  expiry: string | null;
  strike: number | null;
  option_type: "CALL" | "PUT" | null;
  side: "BUY" | "SELL";
  /** As typed: a decimal string, sent as it is. */
  quantity: string;
}

export interface BasketBody {
  legs: BasketLegBody[];
}

/** What a placement came to, for the strategy page. */
export interface PlaceOutcome {
  kind: "filled" | "rejected" | "stale" | "refused" | "failed";
  text: string;
  /** Refused fields by the service's names (`legs[1].quantity`). */
  errors: FieldErrors;
}

/** `n` client order ids of one click: `{prefix}-1` … (1 to 64 of A-Z a-z 0-9 . _ : -). */
export function newOrderIds(n: number, random: () => number, now: number): string[] {
  const tag = Math.floor(random() * 36 ** 8)
    .toString(36)
    .padStart(8, "0");
  const prefix = `dash-${now.toString(36)}-${tag}`;
  return Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
}

/** The basket, or the fields refused: 2 to 8 legs of one product, quantities above 0 (prices are
 * the live quotes: a typed price is not sent). */
export function basketBody(legs: LegDraft[], ids: string[]): { body: BasketBody } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (legs.length < MIN_BASKET || legs.length > MAX_BASKET) {
    errors.legs = `A paper basket takes ${MIN_BASKET} to ${MAX_BASKET} legs`;
  }
  const out = legs.map((leg, i): BasketLegBody => {
    const quantity = leg.quantity.trim();
    const n = dec(quantity);
    if (n === null || n <= 0) errors[`legs[${i}].quantity`] = "A quantity above 0";
    if (leg.product !== legs[0].product) errors[`legs[${i}].product`] = `Not ${legs[0].product}: one product`;
    const { product, expiry, strike, option_type, side } = leg;
    return { client_order_id: ids[i] ?? "", product, expiry, strike, option_type, side, quantity };
  });
  return Object.keys(errors).length ? { errors } : { body: { legs: out } };
}

const legName = (o: PaperOrder, i: number) =>
  `leg ${i + 1} (${o.side} ${o.option_type ? `${o.option_type} ${o.strike}` : "underlying"})`;

/** The basket's answer: every leg FILLED, or every leg REJECTED with one reason naming the leg. */
export function placedOutcome(orders: PaperOrder[]): PlaceOutcome {
  const rejected = orders.find((o) => o.state === "REJECTED");
  if (rejected) {
    return { kind: "rejected", text: `Rejected, nothing placed: ${rejected.reason ?? "no reason given"}`, errors: {} };
  }
  const parts = orders.map((o, i) => `${legName(o, i)} ${o.filled_quantity} @ ${o.average_price ?? "—"}`);
  return { kind: "filled", text: `Filled: ${parts.join("; ")}`, errors: {} };
}

/** A refusal: 409 stale market said plainly, 422 fields under their legs, the rest as they come. */
export function refusedOutcome(err: unknown): PlaceOutcome {
  if (!(err instanceof ApiError)) return { kind: "failed", text: `Not placed: ${describeError(err)}`, errors: {} };
  if (err.status === 409 && err.code === "stale_market") {
    const text = "The market is stale (no fresh quotes): nothing was placed. Try again once the chain is live.";
    return { kind: "stale", text, errors: {} };
  }
  const errors: FieldErrors = {};
  for (const [field, reasons] of Object.entries(err.fields ?? {})) {
    errors[field] = Array.isArray(reasons) ? reasons.join(" ") : String(reasons);
  }
  if (err.status === 422 || err.status === 404) {
    const named = Object.keys(errors).length > 0;
    return { kind: "refused", text: named ? "Not placed: see the legs marked" : `Not placed: ${err.message}`, errors };
  }
  return { kind: "failed", text: `Not placed: ${describeError(err)}`, errors };
}

/** Worth sending again with the same ids: the network, a 429, a 5xx (the placement may have
 * happened: the same ids make the retry answer it). */
export const retriable = (err: unknown): boolean =>
  !(err instanceof ApiError) || err.status === 429 || err.status >= 500;
