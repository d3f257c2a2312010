import { describe, expect, it } from "vitest";
import { formatsFor } from "../format";
import { orderDoc } from "../test/paper";
import { parseOrder } from "./model";
import { fillText, fillToastText, instrumentLabel, money, signedMoney, tone } from "./text";

const INR = formatsFor("INR");
const TODAY = "2026-11-21";

describe("paper texts", () => {
  it("labels options, the spot and a future", () => {
    const call = { product: "NIFTY", expiry: "2026-11-26", strike: "24000", option_type: "CALL" as const };
    expect(instrumentLabel(call, INR, TODAY)).toMatch(/^NIFTY 24,000 CALL 26 Nov/);
    expect(instrumentLabel({ product: "NIFTY", expiry: null, strike: null, option_type: null }, INR, TODAY)).toBe(
      "NIFTY spot",
    );
    expect(instrumentLabel({ product: "BTC", expiry: "2026-12-25", strike: null, option_type: null }, INR, TODAY)).toBe(
      "BTC future 2026-12-25",
    );
  });

  it("shows amounts in the currency's grouping, signed and toned", () => {
    expect(money("983585.55", INR)).toBe("9,83,585.55");
    expect(money("1234.5", formatsFor("USD"))).toBe("1,234.50");
    expect(money(null, INR)).toBe("—");
    expect(signedMoney("1250", INR)).toBe("+1,250.00");
    expect(signedMoney("-37.50", INR)).toBe("-37.50");
    expect(signedMoney("0.00", INR)).toBe("0.00");
    expect([tone("-0.01"), tone("3"), tone("0.00"), tone(null)]).toEqual(["down", "up", "", ""]);
  });

  it("says what an order filled, and a resting order's fill", () => {
    const o = parseOrder(orderDoc({ type: "LIMIT", limit_price: "100", average_price: "100" }))!;
    expect(fillText(o, INR)).toBe("75 / 75 @ 100.00");
    const none = parseOrder(orderDoc({ state: "REJECTED", filled_quantity: "0", average_price: null }))!;
    expect(fillText(none, INR)).toBe("0 / 75");
    expect(fillToastText(o, INR, TODAY)).toMatch(/^Limit BUY NIFTY 24,000 CALL 26 Nov.* filled: 75 \/ 75 @ 100\.00$/);
  });
});
