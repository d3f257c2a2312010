// Paper trading as paper_service answers it (docs/API.md "Paper trading"): orders, positions, the
// account per currency and the trade history. Amounts arrive as exact decimal strings; they are
// kept as strings (what is sent back and exported) and read as numbers only to be shown (`dec`).
// Decoding is tolerant: a document whose id, state or amounts cannot be read is left out.
import { asObject } from "../messages";

export type PaperSide = "BUY" | "SELL";
export type OrderState = "NEW" | "PARTIALLY_FILLED" | "FILLED" | "CANCELLED" | "REJECTED";
export const ORDER_STATES: readonly OrderState[] = ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED"];
/** States of an order that may still fill (and be cancelled). */
export const OPEN_STATES: readonly OrderState[] = ["NEW", "PARTIALLY_FILLED"];

/** An option (CALL/PUT with expiry and strike) or the underlying (all three null). */
export interface Instrument {
  product: string;
  expiry: string | null;
  /** A decimal string; null for the underlying. */
  strike: string | null;
  option_type: "CALL" | "PUT" | null;
}

/** A fill (or a settlement at expiry); amounts are decimal strings. */
export interface PaperTrade extends Instrument {
  id: string;
  kind: "FILL" | "SETTLEMENT";
  order_id: string | null;
  client_order_id: string | null;
  currency: string;
  side: PaperSide;
  quantity: string;
  price: string;
  notional: string;
  fee: string;
  realized_pnl: string;
  at: string;
}

export interface PaperOrder extends Instrument {
  id: string;
  client_order_id: string;
  currency: string;
  side: PaperSide;
  quantity: string;
  type: "MARKET" | "LIMIT";
  limit_price: string | null;
  state: OrderState;
  reason: string | null;
  filled_quantity: string;
  average_price: string | null;
  basket_id: string | null;
  created_at: string;
  updated_at: string;
  /** Its trades, in placement answers only. */
  fills: PaperTrade[];
}

export interface PaperPosition extends Instrument {
  currency: string;
  /** Signed units (negative: short). */
  quantity: string;
  cost: string;
  average_cost: string;
  realized_pnl: string;
  margin: string;
  /** The live mid; null without a quote. */
  mark: string | null;
  value: string;
  unrealized_pnl: string;
  stale: boolean;
  updated_at: string;
}

/** The wallet of one currency; the events' bodies may lack what only the route computes. */
export interface PaperAccount {
  currency: string;
  cash: string;
  margin_used: string;
  free: string | null;
  equity: string | null;
  realized_pnl: string;
  unrealized_pnl: string | null;
  fees: string;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;
/** A decimal string (a JSON number is taken through its shortest form); undefined when neither. */
function decStr(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return typeof v === "string" && DECIMAL.test(v) ? v : undefined;
}
const decOrNull = (v: unknown): string | null | undefined => (v === null || v === undefined ? null : decStr(v));
const strOrNull = (v: unknown): string | null => (isStr(v) ? v : null);

/** A decimal string as a number, for display only; null when it is not one. */
export function dec(v: string | null | undefined): number | null {
  if (v === null || v === undefined || !DECIMAL.test(v)) return null;
  return Number(v);
}

function parseInstrument(m: Record<string, unknown>): Instrument | null {
  if (!isStr(m.product)) return null;
  if (m.option_type === null || m.option_type === undefined) {
    return { product: m.product, expiry: strOrNull(m.expiry), strike: null, option_type: null };
  }
  const strike = decStr(m.strike);
  if ((m.option_type !== "CALL" && m.option_type !== "PUT") || strike === undefined || !isStr(m.expiry)) return null;
  return { product: m.product, expiry: m.expiry, strike, option_type: m.option_type };
}

const side = (v: unknown): PaperSide | null => (v === "BUY" || v === "SELL" ? v : null);

/** Every field named, as decimal strings, or null when one is not. */
function amounts<K extends string>(m: Record<string, unknown>, keys: readonly K[]): Record<K, string> | null {
  const out = {} as Record<K, string>;
  for (const k of keys) {
    const v = decStr(m[k]);
    if (v === undefined) return null;
    out[k] = v;
  }
  return out;
}

export function parseTrade(v: unknown): PaperTrade | null {
  const m = asObject(v);
  const inst = m && parseInstrument(m);
  const s = m && side(m.side);
  const a = m && amounts(m, ["quantity", "price", "notional", "fee", "realized_pnl"] as const);
  if (!m || !inst || !s || !a || !isStr(m.id) || !isStr(m.currency) || !isStr(m.at)) return null;
  const kind = m.kind === "SETTLEMENT" ? "SETTLEMENT" : "FILL";
  return {
    ...inst,
    ...a,
    id: m.id,
    kind,
    side: s,
    currency: m.currency,
    order_id: strOrNull(m.order_id),
    client_order_id: strOrNull(m.client_order_id),
    at: m.at,
  };
}

export function parseOrder(v: unknown): PaperOrder | null {
  const m = asObject(v);
  const inst = m && parseInstrument(m);
  const s = m && side(m.side);
  const a = m && amounts(m, ["quantity", "filled_quantity"] as const);
  if (!m || !inst || !s || !a || !isStr(m.id) || !isStr(m.client_order_id) || !isStr(m.currency)) return null;
  const state = ORDER_STATES.find((x) => x === m.state);
  const limit = decOrNull(m.limit_price);
  const average = decOrNull(m.average_price);
  if (!state || limit === undefined || average === undefined) return null;
  const fills = Array.isArray(m.fills) ? m.fills.map(parseTrade).filter((t): t is PaperTrade => t !== null) : [];
  return {
    ...inst,
    ...a,
    id: m.id,
    client_order_id: m.client_order_id,
    currency: m.currency,
    side: s,
    type: m.type === "LIMIT" ? "LIMIT" : "MARKET",
    limit_price: limit,
    state,
    reason: strOrNull(m.reason),
    average_price: average,
    basket_id: strOrNull(m.basket_id),
    created_at: isStr(m.created_at) ? m.created_at : "",
    updated_at: isStr(m.updated_at) ? m.updated_at : "",
    fills,
  };
}

const POSITION_AMOUNTS = [
  "quantity",
  "cost",
  "average_cost",
  "realized_pnl",
  "margin",
  "value",
  "unrealized_pnl",
] as const;

export function parsePosition(v: unknown): PaperPosition | null {
  const m = asObject(v);
  const inst = m && parseInstrument(m);
  if (!m || !inst || !isStr(m.currency)) return null;
  // An event's position may carry no mark: valued at cost (value = cost, nothing unrealised).
  const base = amounts(m, ["quantity", "cost", "average_cost", "realized_pnl", "margin"] as const);
  const mark = decOrNull(m.mark);
  if (!base || mark === undefined) return null;
  const full = amounts(m, POSITION_AMOUNTS);
  const value = full?.value ?? base.cost;
  const unrealized = full?.unrealized_pnl ?? "0";
  return {
    ...inst,
    ...base,
    currency: m.currency,
    mark,
    value,
    unrealized_pnl: unrealized,
    stale: m.stale === true,
    updated_at: isStr(m.updated_at) ? m.updated_at : "",
  };
}

export function parseAccount(v: unknown): PaperAccount | null {
  const m = asObject(v);
  const a = m && amounts(m, ["cash", "margin_used", "realized_pnl", "fees"] as const);
  if (!m || !a || !isStr(m.currency)) return null;
  const opt = (k: string) => decOrNull(m[k]) ?? null;
  return {
    ...a,
    currency: m.currency,
    free: opt("free"),
    equity: opt("equity"),
    unrealized_pnl: opt("unrealized_pnl"),
  };
}

function listOf<T>(v: unknown, key: string, parse: (x: unknown) => T | null): T[] {
  const list = asObject(v)?.[key];
  return Array.isArray(list) ? list.map(parse).filter((x): x is T => x !== null) : [];
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export const parseOrders = (v: unknown): Page<PaperOrder> => ({
  items: listOf(v, "orders", parseOrder),
  next: strOrNull(asObject(v)?.next),
});
export const parseTrades = (v: unknown): Page<PaperTrade> => ({
  items: listOf(v, "trades", parseTrade),
  next: strOrNull(asObject(v)?.next),
});
export const parsePositions = (v: unknown): PaperPosition[] => listOf(v, "positions", parsePosition);
export const parseAccounts = (v: unknown): PaperAccount[] => listOf(v, "accounts", parseAccount);
/** A basket's orders, or null when one cannot be read (the outcome would be another). */
export function parseBasket(v: unknown): PaperOrder[] | null {
  const list = asObject(v)?.orders;
  if (!Array.isArray(list) || !list.length) return null;
  const orders = list.map(parseOrder);
  return orders.every((o): o is PaperOrder => o !== null) ? orders : null;
}

/** The key of a position: its instrument. */
export const instrumentKey = (i: Instrument): string =>
  [i.product, i.expiry ?? "", i.strike === null ? "" : String(dec(i.strike)), i.option_type ?? ""].join("|");
