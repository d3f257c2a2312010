import { describe, expect, it } from "vitest";
import { parseAccount, parseBasket, parseOrder, type PaperOrder } from "../paper/model";
import { ACCOUNT_DOC, orderDoc, straddleBasket } from "../test/paper";
import {
  FILL_TOAST_MS,
  emptyPaper,
  expireFillToasts,
  mergeOrder,
  reducePaper,
  splitOrders,
  type PaperAction,
  type PaperState,
} from "./paper";

const run = (s: PaperState, ...actions: PaperAction[]) => actions.reduce(reducePaper, s);
const order = (over: Record<string, unknown>): PaperOrder => parseOrder(orderDoc(over))!;
const FILLED = parseBasket(straddleBasket())!;
const OUT = { kind: "filled", text: "Filled", errors: {} } as const;

describe("paper state", () => {
  it("keeps a placement's ids, and applies its answer only for the legs it sent", () => {
    const asked = run(emptyPaper(3), { type: "paperPlaceAsked", gen: 3, version: 7, ids: ["a-1", "a-2"] });
    expect(asked.place).toEqual({ version: 7, ids: ["a-1", "a-2"], pending: true, outcome: null });
    const done = run(asked, { type: "paperPlaced", gen: 3, version: 7, orders: FILLED, outcome: OUT });
    expect(done.place).toMatchObject({ pending: false, outcome: OUT, ids: ["a-1", "a-2"] });
    expect(done.orders?.map((o) => o.option_type)).toEqual(["CALL", "PUT"]); // the basket's order
    const other = run(asked, { type: "paperPlaceFailed", gen: 3, version: 6, outcome: { ...OUT, kind: "failed" } });
    expect(other).toBe(asked);
    expect(run(asked, { type: "paperPlaced", gen: 2, version: 7, orders: FILLED, outcome: OUT })).toBe(asked);
  });

  it("toasts a resting order's fill once, and never a market order's", () => {
    const resting = order({ id: "po_L", type: "LIMIT", limit_price: "100", state: "NEW", filled_quantity: "0" });
    let s = run(emptyPaper(0), { type: "paperOrderEvent", order: resting, now: 1 });
    expect(s.toasts).toEqual([]);
    const later = "2026-11-26T09:20:00.000Z"; // filled by the workers after it rested
    const part = { ...resting, state: "PARTIALLY_FILLED" as const, filled_quantity: "75", updated_at: later };
    s = run(s, { type: "paperOrderEvent", order: part, now: 2 }, { type: "paperOrderEvent", order: part, now: 3 });
    expect(s.toasts.map((t) => [t.id, t.shownAt])).toEqual([["po_L:75", 2]]);
    const whole = { ...resting, state: "FILLED" as const, filled_quantity: "150", updated_at: later };
    s = run(s, { type: "paperOrderEvent", order: whole, now: 4 });
    expect(s.toasts.map((t) => t.id)).toEqual(["po_L:75", "po_L:150"]);
    expect(s.orders).toHaveLength(1);
    expect(s.orders?.[0].filled_quantity).toBe("150");
    const market = run(emptyPaper(0), { type: "paperOrderEvent", order: FILLED[0], now: 5 });
    expect(market.toasts).toEqual([]);
    expect(expireFillToasts(s, 2 + FILL_TOAST_MS).toasts.map((t) => t.id)).toEqual(["po_L:150"]);
    expect(expireFillToasts(s, 3)).toBe(s);
    expect(run(s, { type: "paperToastClosed", id: "po_L:75" }).toasts.map((t) => t.id)).toEqual(["po_L:150"]);
    const gone = expireFillToasts(s, 4 + FILL_TOAST_MS);
    expect(run(gone, { type: "paperOrderEvent", order: whole, now: 9 }).toasts).toEqual([]); // delivered again
  });

  it("toasts a resting fill a read of the orders showed first, and not a limit filled as placed", () => {
    const resting = order({ id: "po_R", type: "LIMIT", limit_price: "100", state: "NEW", filled_quantity: "0" });
    const filled = {
      ...resting,
      state: "FILLED" as const,
      filled_quantity: "75",
      updated_at: "2026-11-26T09:20:00.000Z",
    };
    const read = run(emptyPaper(0), { type: "paperOrdersLoaded", gen: 0, orders: [filled] });
    expect(read.toasts).toEqual([]); // a read tells nothing new by itself
    const s = run(read, { type: "paperOrderEvent", order: filled, now: 7 });
    expect(s.toasts.map((t) => t.id)).toEqual(["po_R:75"]);
    const atOnce = { ...resting, id: "po_M", state: "FILLED" as const, filled_quantity: "75" };
    expect(atOnce.updated_at).toBe(atOnce.created_at);
    expect(run(emptyPaper(0), { type: "paperOrderEvent", order: atOnce, now: 8 }).toasts).toEqual([]);
  });

  it("merges a wallet event into the account of its currency, keeping the route's equity", () => {
    const read = run(emptyPaper(0), { type: "paperAccountsLoaded", gen: 0, accounts: [parseAccount(ACCOUNT_DOC)!] });
    const wallet = parseAccount({
      currency: "INR",
      cash: "1.00",
      margin_used: "2.00",
      realized_pnl: "3.00",
      fees: "4.00",
    })!;
    const s = run(read, { type: "paperAccountEvent", account: wallet });
    expect(s.accounts).toEqual([
      { ...ACCOUNT_DOC, cash: "1.00", margin_used: "2.00", realized_pnl: "3.00", fees: "4.00" },
    ]);
    const usd = { ...wallet, currency: "USD" };
    expect(run(s, { type: "paperAccountEvent", account: usd }).accounts?.map((a) => a.currency)).toEqual([
      "INR",
      "USD",
    ]);
  });

  it("appends a further page of trades, replaces on a first page", () => {
    const t = FILLED.flatMap((o) => o.fills);
    let s = run(emptyPaper(0), { type: "paperTradesLoaded", gen: 0, trades: t, next: "c2", more: false });
    s = run(s, { type: "paperTradesLoaded", gen: 0, trades: [t[0]], next: null, more: true });
    expect(s.trades).toHaveLength(3);
    expect(s.tradesNext).toBeNull();
    s = run(s, { type: "paperTradesLoaded", gen: 0, trades: [t[1]], next: null, more: false });
    expect(s.trades?.map((x) => x.id)).toEqual([t[1].id]);
  });

  it("tracks cancels, and splits the blotter into open and done orders", () => {
    const open = order({ id: "po_O", type: "LIMIT", limit_price: "1", state: "NEW", filled_quantity: "0" });
    let s = run(emptyPaper(0), { type: "paperOrdersLoaded", gen: 0, orders: [open, ...FILLED] });
    s = run(s, { type: "paperCancelAsked", gen: 0, id: "po_O" });
    expect(run(s, { type: "paperCancelAsked", gen: 0, id: "po_O" })).toBe(s);
    expect(s.cancelling).toEqual(["po_O"]);
    const gone = run(s, { type: "paperCancelFailed", gen: 0, id: "po_O", note: "Not cancelled: x" });
    expect(gone).toMatchObject({ cancelling: [], cancelNote: "Not cancelled: x" });
    const { open: o, done } = splitOrders(s.orders!);
    expect(o.map((x) => x.id)).toEqual(["po_O"]);
    expect(done).toHaveLength(2);
    expect(mergeOrder(null, open)).toEqual([open]);
  });
});
