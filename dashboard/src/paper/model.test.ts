import { describe, expect, it } from "vitest";
import { ACCOUNT_DOC, POSITION_DOC, fillDoc, orderDoc, straddleBasket } from "../test/paper";
import {
  dec,
  instrumentKey,
  parseAccount,
  parseAccounts,
  parseBasket,
  parseOrder,
  parseOrders,
  parsePosition,
  parseTrade,
  parseTrades,
} from "./model";

describe("paper documents", () => {
  it("keeps amounts as the exact decimal strings sent, read as numbers only by dec", () => {
    const o = parseOrder(orderDoc())!;
    expect(o.average_price).toBe("120.50000000");
    expect(o.quantity).toBe("75");
    expect(dec(o.average_price)).toBe(120.5);
    expect(dec("-44.50")).toBe(-44.5);
    expect(dec("1e5")).toBeNull();
    expect(dec(null)).toBeNull();
    expect(dec("")).toBeNull();
  });

  it("reads a JSON number amount through its shortest form", () => {
    expect(parseOrder(orderDoc({ quantity: 75, strike: 24000.5 }))).toMatchObject({
      quantity: "75",
      strike: "24000.5",
    });
  });

  it("refuses an order whose state, side, id or amounts cannot be read", () => {
    expect(parseOrder(orderDoc({ state: "DONE" }))).toBeNull();
    expect(parseOrder(orderDoc({ side: "HOLD" }))).toBeNull();
    expect(parseOrder(orderDoc({ id: "" }))).toBeNull();
    expect(parseOrder(orderDoc({ quantity: "seventy" }))).toBeNull();
    expect(parseOrder(orderDoc({ option_type: "CALL", strike: null }))).toBeNull();
    expect(parseOrder(orderDoc({ limit_price: "x" }))).toBeNull();
    expect(parseOrder("nope")).toBeNull();
  });

  it("reads the underlying with no expiry and strike, and a LIMIT order's price", () => {
    const spot = parseOrder(
      orderDoc({ option_type: null, strike: null, expiry: null, type: "LIMIT", limit_price: "23990.5" }),
    )!;
    expect(spot).toMatchObject({
      option_type: null,
      strike: null,
      expiry: null,
      type: "LIMIT",
      limit_price: "23990.5",
    });
  });

  it("reads a basket's fills, and refuses a basket with an unreadable leg", () => {
    const orders = parseBasket(straddleBasket())!;
    expect(orders.map((o) => o.fills[0].notional)).toEqual(["9037.50", "7368.75"]);
    expect(orders[1]).toMatchObject({ option_type: "PUT", client_order_id: "dash-1-2", state: "FILLED" });
    const bad = straddleBasket();
    (bad.orders[1] as Record<string, unknown>).state = "?";
    expect(parseBasket(bad)).toBeNull();
    expect(parseBasket({ orders: [] })).toBeNull();
  });

  it("reads trades and pages, leaving out the unreadable", () => {
    const t = parseTrade(fillDoc("po_1", "c-1", "PUT", "98.25", "7368.75", "3.68"))!;
    expect(t).toMatchObject({ kind: "FILL", price: "98.25", fee: "3.68", order_id: "po_1", client_order_id: "c-1" });
    const page = parseTrades({ trades: [t, { id: "x" }], next: "abc" });
    expect(page.items).toHaveLength(1);
    expect(page.next).toBe("abc");
    expect(parseOrders({ orders: [orderDoc(), null], next: null })).toMatchObject({ next: null });
    expect(parseOrders(null).items).toEqual([]);
  });

  it("reads the account, and an event's wallet without the route's derived fields", () => {
    expect(parseAccounts({ accounts: [ACCOUNT_DOC] })[0]).toEqual(ACCOUNT_DOC);
    const wallet = parseAccount({
      currency: "INR",
      cash: "983585.55",
      margin_used: "0.00",
      realized_pnl: "0.00",
      fees: "8.20",
    })!;
    expect(wallet).toMatchObject({ cash: "983585.55", equity: null, free: null, unrealized_pnl: null });
    expect(parseAccount({ ...ACCOUNT_DOC, cash: 1.5 })?.cash).toBe("1.5");
    expect(parseAccount({ ...ACCOUNT_DOC, cash: "lots" })).toBeNull();
  });

  it("reads a marked position, and one without marks valued at its cost", () => {
    expect(parsePosition(POSITION_DOC)).toMatchObject({ mark: "120", value: "9000.00", unrealized_pnl: "-37.50" });
    const bare = { ...POSITION_DOC, mark: undefined, value: undefined, unrealized_pnl: undefined };
    expect(parsePosition(bare)).toMatchObject({ mark: null, value: "9037.50", unrealized_pnl: "0" });
  });

  it("keys an instrument by its strike's value", () => {
    const a = instrumentKey({ product: "NIFTY", expiry: "2026-11-26", strike: "24000", option_type: "CALL" });
    const b = instrumentKey({ product: "NIFTY", expiry: "2026-11-26", strike: "24000.00", option_type: "CALL" });
    expect(a).toBe(b);
    expect(instrumentKey({ product: "NIFTY", expiry: null, strike: null, option_type: null })).toBe("NIFTY|||");
  });
});
