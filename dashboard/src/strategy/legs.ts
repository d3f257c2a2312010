// The builder's legs as the user edits them (quantity and price as typed), the local checks before
// an evaluation is asked for (the service's own bounds, named by the service's field names), the
// body sent, the live price a leg defaults to, and a refusal of the service as errors by field.
import { parseNumber } from "../alerts/draft";
import { ApiError, describeError } from "../auth";
import { num } from "../format";
import { parseUtcInput } from "../travel";
import type { EnrichedChain } from "../types";
import { MAX_DATES, MAX_LEGS, type Evaluation, type LegSide, type OptionKind, type WireLeg } from "./model";
import type { EvaluateBody } from "./rest";

/** Field name (the service's: `legs[2].quantity`, `dates[0]`, `name`…) → why it is refused. */
export type FieldErrors = Partial<Record<string, string>>;

/** A leg of the builder: the option (or the underlying) and side fixed, quantity and price as typed. */
export interface LegDraft {
  /** Stable while the leg lives (its row keeps its focus); never reused. */
  key: number;
  product: string;
  expiry: string | null;
  strike: number | null;
  option_type: OptionKind | null;
  side: LegSide;
  quantity: string;
  /** "" for the live mid (the underlying: the live spot). */
  price: string;
}

/** A leg as the builder holds it, from a leg of the wire (a template's, a saved strategy's). */
export function draftOf(leg: WireLeg, key: number): LegDraft {
  return {
    key,
    product: leg.product,
    expiry: leg.option_type === null ? null : leg.expiry,
    strike: leg.option_type === null ? null : leg.strike,
    option_type: leg.option_type,
    side: leg.side,
    quantity: String(leg.quantity),
    price: leg.price === null ? "" : String(leg.price),
  };
}

/** The fields of leg `i`, as the service names them. */
export const legField = (i: number, name: keyof WireLeg): string => `legs[${i}].${name}`;

/** Leg `i`'s errors, by its own field name (`quantity`, `strike`…), from errors by full name. */
export function legErrors(errors: FieldErrors, i: number): Partial<Record<keyof WireLeg, string>> {
  const prefix = `legs[${i}].`;
  const out: Partial<Record<keyof WireLeg, string>> = {};
  for (const [field, why] of Object.entries(errors)) {
    if (why && field.startsWith(prefix)) out[field.slice(prefix.length) as keyof WireLeg] = why;
  }
  return out;
}

/** The legs as the service takes them, or the fields refused: a quantity above 0, a price ≥ 0 or
 * empty, 1 to MAX_LEGS legs of one product, at most MAX_DATES dates (UTC, as typed). */
export function evaluateBody(legs: LegDraft[], dates: string[]): { body: EvaluateBody } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!legs.length) errors.legs = "Add a leg";
  if (legs.length > MAX_LEGS) errors.legs = `At most ${MAX_LEGS} legs`;
  if (dates.length > MAX_DATES) errors.dates = `At most ${MAX_DATES} dates`;
  const wire = legs.map((leg, i): WireLeg => {
    const quantity = parseNumber(leg.quantity);
    if (quantity === null || Number.isNaN(quantity) || quantity <= 0) {
      errors[legField(i, "quantity")] = "A quantity above 0";
    }
    const price = parseNumber(leg.price);
    if (price !== null && (Number.isNaN(price) || price < 0)) errors[legField(i, "price")] = "A price of 0 or more";
    if (leg.product !== legs[0].product) errors[legField(i, "product")] = `Not ${legs[0].product}: one product`;
    const { product, expiry, strike, option_type, side } = leg;
    return { product, expiry, strike, option_type, side, quantity: quantity ?? NaN, price };
  });
  const instants = dates.map((d, j) => {
    const ms = parseUtcInput(d);
    if (ms === null) errors[`dates[${j}]`] = "A date and time (UTC)";
    return ms === null ? "" : new Date(ms).toISOString();
  });
  return Object.keys(errors).length ? { errors } : { body: { legs: wire, dates: instants } };
}

/** A row's live price as the service takes it: the mid when both sides are quoted, else the last
 * trade; null when neither. */
export function rowMid(row: { bid?: unknown; ask?: unknown; last?: unknown } | undefined): number | null {
  const bid = num(row?.bid);
  const ask = num(row?.ask);
  if (bid !== null && ask !== null && bid > 0 && ask > 0) return (bid + ask) / 2;
  const last = num(row?.last);
  return last !== null && last > 0 ? last : null;
}

const sameOption = (a: Omit<WireLeg, "quantity" | "price" | "side">, b: LegDraft) =>
  a.product === b.product && a.expiry === b.expiry && a.strike === b.strike && a.option_type === b.option_type;

/**
 * The price a leg without one is valued at: the live mid of its row in the chain shown (the
 * underlying: the live spot), else the price the last evaluation used for the same option; null
 * when neither knows it.
 */
export function livePrice(
  leg: LegDraft,
  chain: EnrichedChain | null,
  spot: number | null,
  last: Evaluation | null,
): number | null {
  if (leg.option_type === null) return leg.product === chain?.product ? (spot ?? chain.spot_price) : null;
  if (chain && chain.product === leg.product && chain.expiry === leg.expiry) {
    const i = chain.strikes.indexOf(leg.strike ?? NaN);
    const mid = i < 0 ? null : rowMid(leg.option_type === "CALL" ? chain.calls[i] : chain.puts[i]);
    if (mid !== null) return mid;
  }
  const used = last?.legs.find((l) => sameOption(l, leg));
  return used?.price ?? null;
}

/** The fields a refusal names, by field; what names no field (or a network failure) as a message.
 * `limit` says what a 409 means on this form. */
export function refusal(err: unknown, limit = "Limit reached"): { errors: FieldErrors; message: string | null } {
  if (!(err instanceof ApiError)) return { errors: {}, message: describeError(err) };
  if (err.status === 409) return { errors: {}, message: `${limit}: ${err.message}` };
  const errors: FieldErrors = {};
  for (const [field, reasons] of Object.entries(err.fields ?? {})) {
    errors[field] = Array.isArray(reasons) ? reasons.join(" ") : String(reasons);
  }
  return { errors, message: Object.keys(errors).length ? null : describeError(err) };
}
