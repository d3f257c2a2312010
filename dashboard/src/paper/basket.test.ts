import { describe, expect, it } from "vitest";
import { ApiError } from "../auth";
import type { LegDraft } from "../strategy/legs";
import { straddleBasket } from "../test/paper";
import { basketBody, newOrderIds, placedOutcome, refusedOutcome, retriable } from "./basket";
import { parseBasket } from "./model";

const leg = (key: number, option_type: "CALL" | "PUT" | null, over: Partial<LegDraft> = {}): LegDraft => ({
  key,
  product: "NIFTY",
  expiry: option_type ? "2026-11-26" : null,
  strike: option_type ? 24000 : null,
  option_type,
  side: "BUY",
  quantity: "75",
  price: "",
  ...over,
});

describe("paper basket", () => {
  it("makes one id per leg under one prefix, within the service's pattern", () => {
    const ids = newOrderIds(3, () => 0.5, 1_700_000_000_000);
    // 1.7e12 is "loyw3v28" in base 36; 0.5 · 36^8 is "i0000000".
    expect(ids).toEqual(["dash-loyw3v28-i0000000-1", "dash-loyw3v28-i0000000-2", "dash-loyw3v28-i0000000-3"]);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    expect(newOrderIds(2, () => 0, 1)).toEqual(["dash-1-00000000-1", "dash-1-00000000-2"]);
  });

  it("sends each leg with its id and the quantity as typed; a typed price is not sent", () => {
    const checked = basketBody(
      [leg(1, "CALL", { price: "130", quantity: " 75.0 " }), leg(2, "PUT", { side: "SELL" })],
      ["a-1", "a-2"],
    );
    expect(checked).toEqual({
      body: {
        legs: [
          {
            client_order_id: "a-1",
            product: "NIFTY",
            expiry: "2026-11-26",
            strike: 24000,
            option_type: "CALL",
            side: "BUY",
            quantity: "75.0",
          },
          {
            client_order_id: "a-2",
            product: "NIFTY",
            expiry: "2026-11-26",
            strike: 24000,
            option_type: "PUT",
            side: "SELL",
            quantity: "75",
          },
        ],
      },
    });
  });

  it("refuses one leg, more than eight, a quantity that is not above 0, another product", () => {
    expect(basketBody([leg(1, "CALL")], ["a-1"])).toEqual({ errors: { legs: "A paper basket takes 2 to 8 legs" } });
    const nine = Array.from({ length: 9 }, (_, i) => leg(i, "CALL"));
    expect(basketBody(nine, [])).toMatchObject({ errors: { legs: "A paper basket takes 2 to 8 legs" } });
    const bad = basketBody(
      [leg(1, null, { quantity: "0" }), leg(2, "PUT", { quantity: "x", product: "BANKNIFTY" })],
      ["a", "b"],
    );
    expect(bad).toEqual({
      errors: {
        "legs[0].quantity": "A quantity above 0",
        "legs[1].quantity": "A quantity above 0",
        "legs[1].product": "Not NIFTY: one product",
      },
    });
  });

  it("says each leg filled, and a rejection's reason", () => {
    expect(placedOutcome(parseBasket(straddleBasket())!)).toEqual({
      kind: "filled",
      text: "Filled: leg 1 (BUY CALL 24000) 75 @ 120.50000000; leg 2 (BUY PUT 24000) 75 @ 98.25000000",
      errors: {},
    });
    const why = "legs[1]: insufficient buying power: the order needs 16414.45 INR, 100.00 free";
    expect(placedOutcome(parseBasket(straddleBasket("REJECTED", why))!)).toEqual({
      kind: "rejected",
      text: `Rejected, nothing placed: ${why}`,
      errors: {},
    });
  });

  it("says a stale market plainly, puts a 422 under its leg, and passes other failures on", () => {
    const stale = refusedOutcome(new ApiError(409, "stale_market", "stale", { "legs[0].expiry": ["stale"] }));
    expect(stale.kind).toBe("stale");
    expect(stale.text).toMatch(/^The market is stale/);
    const q = refusedOutcome(
      new ApiError(422, "validation_error", "bad", { "legs[1].quantity": ["Not a multiple of the lot (75)."] }),
    );
    expect(q).toEqual({
      kind: "refused",
      text: "Not placed: see the legs marked",
      errors: { "legs[1].quantity": "Not a multiple of the lot (75)." },
    });
    expect(refusedOutcome(new ApiError(404, "not_found", "no live chain of NIFTY 2026-12-31"))).toMatchObject({
      kind: "refused",
      text: "Not placed: no live chain of NIFTY 2026-12-31",
    });
    expect(refusedOutcome(new ApiError(503, "unavailable", "down")).kind).toBe("failed");
    expect(refusedOutcome(new TypeError("Failed to fetch")).kind).toBe("failed");
  });

  it("retries the network, 429 and 5xx only", () => {
    expect(retriable(new TypeError("x"))).toBe(true);
    expect(retriable(new ApiError(503, "unavailable", "x"))).toBe(true);
    expect(retriable(new ApiError(429, "rate_limited", "x"))).toBe(true);
    expect(retriable(new ApiError(409, "stale_market", "x"))).toBe(false);
  });
});
