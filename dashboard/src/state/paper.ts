// The paper-trading part of the dashboard state: the newest placement of the strategy's legs (its
// client order ids, kept for the same legs so a retry or second click places nothing new), the
// account per currency, the open positions marked to market, the recent orders, the trade history
// and the toasts of resting orders that filled. Changed only by reducePaper (called by reducer.ts);
// answers carry the generation they were asked under and are dropped after a sign-out.
import { OPEN_STATES, type PaperAccount, type PaperOrder, type PaperPosition, type PaperTrade } from "../paper/model";
import type { PlaceOutcome } from "../paper/basket";

/** How many toasted fills are remembered, so that one delivered again is not toasted again. */
export const TOASTED_MAX = 200;
/** A fill toast stays this long unless closed (ms of the client clock). */
export const FILL_TOAST_MS = 10_000;
/** Orders kept in the blotter at most (the page read and the live ones). */
export const ORDERS_MAX = 200;

export interface PlaceState {
  /** The strategy version the ids were made for; null before the first click. */
  version: number | null;
  ids: string[];
  pending: boolean;
  outcome: PlaceOutcome | null;
}

export interface FillToast {
  /** `{order id}:{filled quantity}`: one per fill, however often it is delivered. */
  id: string;
  order: PaperOrder;
  shownAt: number;
}

export interface PaperState {
  gen: number;
  place: PlaceState;
  /** null until read. */
  accounts: PaperAccount[] | null;
  positions: PaperPosition[] | null;
  /** Newest first. */
  orders: PaperOrder[] | null;
  trades: PaperTrade[] | null;
  /** The cursor of the trade history's next page; null on the last. */
  tradesNext: string | null;
  /** Why the last read failed; null once one succeeds. */
  note: string | null;
  /** Orders being cancelled, and why the last cancel failed. */
  cancelling: string[];
  cancelNote: string | null;
  toasts: FillToast[];
  /** The toasts' ids ever shown (the last TOASTED_MAX): a fill is toasted once. */
  toasted: string[];
}

export type PaperAction =
  | { type: "paperPlaceAsked"; gen: number; version: number; ids: string[] }
  | { type: "paperPlaced"; gen: number; version: number; orders: PaperOrder[]; outcome: PlaceOutcome }
  | { type: "paperPlaceFailed"; gen: number; version: number; outcome: PlaceOutcome }
  | { type: "paperAccountsLoaded"; gen: number; accounts: PaperAccount[] }
  | { type: "paperPositionsLoaded"; gen: number; positions: PaperPosition[] }
  | { type: "paperOrdersLoaded"; gen: number; orders: PaperOrder[] }
  | { type: "paperTradesLoaded"; gen: number; trades: PaperTrade[]; next: string | null; more: boolean }
  | { type: "paperReadFailed"; gen: number; note: string }
  | { type: "paperOrderEvent"; order: PaperOrder; now: number }
  | { type: "paperAccountEvent"; account: PaperAccount }
  | { type: "paperCancelAsked"; gen: number; id: string }
  | { type: "paperCancelled"; gen: number; order: PaperOrder }
  | { type: "paperCancelFailed"; gen: number; id: string; note: string }
  | { type: "paperToastClosed"; id: string };

const PAPER_ACTIONS: ReadonlySet<string> = new Set<PaperAction["type"]>([
  "paperPlaceAsked",
  "paperPlaced",
  "paperPlaceFailed",
  "paperAccountsLoaded",
  "paperPositionsLoaded",
  "paperOrdersLoaded",
  "paperTradesLoaded",
  "paperReadFailed",
  "paperOrderEvent",
  "paperAccountEvent",
  "paperCancelAsked",
  "paperCancelled",
  "paperCancelFailed",
  "paperToastClosed",
]);

export function isPaperAction(a: { type: string }): a is PaperAction {
  return PAPER_ACTIONS.has(a.type);
}

export function emptyPaper(gen: number): PaperState {
  return {
    gen,
    place: { version: null, ids: [], pending: false, outcome: null },
    accounts: null,
    positions: null,
    orders: null,
    trades: null,
    tradesNext: null,
    note: null,
    cancelling: [],
    cancelNote: null,
    toasts: [],
    toasted: [],
  };
}

/** `orders` with `o` in place of the order of its id (or first, when new); newest first. */
export function mergeOrder(orders: PaperOrder[] | null, o: PaperOrder): PaperOrder[] {
  const list = orders ?? [];
  const at = list.findIndex((x) => x.id === o.id);
  if (at < 0) return [o, ...list].slice(0, ORDERS_MAX);
  return list.map((x, i) => (i === at ? o : x));
}

/** Merge the placed orders, newest (the basket) first. */
function mergeOrders(orders: PaperOrder[] | null, placed: PaperOrder[]): PaperOrder[] {
  return [...placed].reverse().reduce<PaperOrder[]>((list, o) => mergeOrder(list, o), orders ?? []);
}

/** A resting (limit) order's fill arrived: toasted once per filled quantity, whether or not a read
 * of the orders showed the fill first (the page reads them every few seconds, and a read may come
 * between the worker's write and its event). An order filled as it was placed (updated when it was
 * created) is the placer's own answer, not news: no toast. */
function fillToast(s: PaperState, o: PaperOrder, now: number): Pick<PaperState, "toasts" | "toasted"> {
  const kept = { toasts: s.toasts, toasted: s.toasted };
  if (o.type !== "LIMIT" || (o.state !== "FILLED" && o.state !== "PARTIALLY_FILLED")) return kept;
  if (o.updated_at === o.created_at) return kept;
  const id = `${o.id}:${o.filled_quantity}`;
  if (s.toasted.includes(id)) return kept;
  return {
    toasts: [...s.toasts, { id, order: o, shownAt: now }].slice(-4),
    toasted: [...s.toasted, id].slice(-TOASTED_MAX),
  };
}

/** The account of the event's currency with the wallet's fields it carries (the route's derived
 * fields stay until the next read). */
function mergeAccount(list: PaperAccount[] | null, a: PaperAccount): PaperAccount[] {
  const accounts = list ?? [];
  const old = accounts.find((x) => x.currency === a.currency);
  const merged: PaperAccount = old
    ? { ...old, cash: a.cash, margin_used: a.margin_used, realized_pnl: a.realized_pnl, fees: a.fees }
    : a;
  for (const k of ["free", "equity", "unrealized_pnl"] as const) if (a[k] !== null) merged[k] = a[k];
  const rest = accounts.filter((x) => x.currency !== a.currency);
  return [...rest, merged].sort((x, y) => x.currency.localeCompare(y.currency));
}

function reducePlace(s: PaperState, a: PaperAction): PaperState {
  switch (a.type) {
    case "paperPlaceAsked":
      return { ...s, place: { version: a.version, ids: a.ids, pending: true, outcome: null } };
    case "paperPlaced":
      if (s.place.version !== a.version) return { ...s, orders: mergeOrders(s.orders, a.orders) };
      return {
        ...s,
        place: { ...s.place, pending: false, outcome: a.outcome },
        orders: mergeOrders(s.orders, a.orders),
      };
    case "paperPlaceFailed":
      return s.place.version === a.version ? { ...s, place: { ...s.place, pending: false, outcome: a.outcome } } : s;
    default:
      return s;
  }
}

export function reducePaper(s: PaperState, a: PaperAction): PaperState {
  if ("gen" in a && a.gen !== s.gen) return s;
  switch (a.type) {
    case "paperPlaceAsked":
    case "paperPlaced":
    case "paperPlaceFailed":
      return reducePlace(s, a);
    case "paperAccountsLoaded":
      return { ...s, accounts: a.accounts, note: null };
    case "paperPositionsLoaded":
      return { ...s, positions: a.positions, note: null };
    case "paperOrdersLoaded":
      return { ...s, orders: a.orders.slice(0, ORDERS_MAX), note: null };
    case "paperTradesLoaded": {
      const trades = a.more ? [...(s.trades ?? []), ...a.trades] : a.trades;
      return { ...s, trades, tradesNext: a.next, note: null };
    }
    case "paperReadFailed":
      return s.note === a.note ? s : { ...s, note: a.note };
    case "paperOrderEvent":
      return { ...s, ...fillToast(s, a.order, a.now), orders: mergeOrder(s.orders, a.order) };
    case "paperAccountEvent":
      return { ...s, accounts: mergeAccount(s.accounts, a.account) };
    case "paperCancelAsked":
      return s.cancelling.includes(a.id) ? s : { ...s, cancelling: [...s.cancelling, a.id], cancelNote: null };
    case "paperCancelled":
      return {
        ...s,
        cancelling: s.cancelling.filter((id) => id !== a.order.id),
        orders: mergeOrder(s.orders, a.order),
      };
    case "paperCancelFailed":
      return { ...s, cancelling: s.cancelling.filter((id) => id !== a.id), cancelNote: a.note };
    case "paperToastClosed":
      return s.toasts.some((t) => t.id === a.id) ? { ...s, toasts: s.toasts.filter((t) => t.id !== a.id) } : s;
  }
}

/** The clock moved on: fill toasts shown FILL_TOAST_MS ago or more go. */
export function expireFillToasts(s: PaperState, now: number): PaperState {
  const kept = s.toasts.filter((t) => now - t.shownAt < FILL_TOAST_MS);
  return kept.length === s.toasts.length ? s : { ...s, toasts: kept };
}

/** Open orders (they may be cancelled) and the others, each newest first. */
export function splitOrders(orders: PaperOrder[]): { open: PaperOrder[]; done: PaperOrder[] } {
  const open = orders.filter((o) => OPEN_STATES.includes(o.state));
  return { open, done: orders.filter((o) => !OPEN_STATES.includes(o.state)) };
}
