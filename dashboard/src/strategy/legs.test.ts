import { describe, expect, it } from "vitest";
import { ApiError } from "../auth";
import { chain } from "../test/fixtures";
import { CONDOR_LEGS, condorAnswer } from "../test/strategy";
import { draftOf, evaluateBody, legErrors, livePrice, refusal, rowMid, type LegDraft } from "./legs";
import { parseEvaluation } from "./model";

const drafts = (): LegDraft[] => CONDOR_LEGS.map((l, i) => draftOf(l, i + 1));

describe("the body of an evaluation", () => {
  it("sends the legs as typed: numbers, an empty price as null (the live mid), dates in UTC", () => {
    const legs = drafts();
    legs[1] = { ...legs[1], quantity: " 1,500 ", price: "45.5" };
    const checked = evaluateBody(legs, ["2026-11-24T10:00", "2026-11-25T03:30:15"]);
    expect(checked).toEqual({
      body: {
        legs: [CONDOR_LEGS[0], { ...CONDOR_LEGS[1], quantity: 1500, price: 45.5 }, CONDOR_LEGS[2], CONDOR_LEGS[3]],
        dates: ["2026-11-24T10:00:00.000Z", "2026-11-25T03:30:15.000Z"],
      },
    });
  });

  it("refuses each bad field by the service's name for it", () => {
    const legs = drafts();
    legs[0] = { ...legs[0], quantity: "0" };
    legs[2] = { ...legs[2], quantity: "lots", price: "-1" };
    legs[3] = { ...legs[3], product: "BANKNIFTY" };
    expect(evaluateBody(legs, ["2026-02-30T10:00"])).toEqual({
      errors: {
        "legs[0].quantity": "A quantity above 0",
        "legs[2].quantity": "A quantity above 0",
        "legs[2].price": "A price of 0 or more",
        "legs[3].product": "Not NIFTY: one product",
        "dates[0]": "A date and time (UTC)",
      },
    });
  });

  it("refuses no legs, too many legs and too many dates", () => {
    expect(evaluateBody([], [])).toEqual({ errors: { legs: "Add a leg" } });
    const many = Array.from({ length: 13 }, (_, i) => draftOf(CONDOR_LEGS[0], i));
    expect(evaluateBody(many, [])).toEqual({ errors: { legs: "At most 12 legs" } });
    const dates = Array(5).fill("2026-11-24T10:00") as string[];
    expect(evaluateBody(drafts(), dates)).toEqual({ errors: { dates: "At most 4 dates" } });
  });

  it("finds one leg's errors among the others", () => {
    const errors = { "legs[1].price": "bad", "legs[10].price": "other", "legs[1].strike": "not listed", legs: "x" };
    expect(legErrors(errors, 1)).toEqual({ price: "bad", strike: "not listed" });
    expect(legErrors(errors, 2)).toEqual({});
  });
});

describe("live prices", () => {
  it("takes the mid when both sides are quoted, else the last trade", () => {
    expect(rowMid({ bid: 10, ask: 12.5, last: 9 })).toBe(11.25);
    expect(rowMid({ bid: 0, ask: 12.5, last: 9 })).toBe(9);
    expect(rowMid({ bid: 0, ask: 0, last: 0 })).toBeNull();
    expect(rowMid(undefined)).toBeNull();
  });

  it("prices a leg from the chain shown, else from the last evaluation, the underlying at spot", () => {
    const shown = chain("2026-11-21T09:41:00.000Z"); // NIFTY 2026-11-26, bid 1 ask 2 on every row
    const leg = (extra: Partial<LegDraft>): LegDraft => ({ ...draftOf(CONDOR_LEGS[0], 1), ...extra });
    expect(livePrice(leg({ strike: 24000 }), shown, null, null)).toBe(1.5);
    const last = parseEvaluation(condorAnswer());
    expect(livePrice(leg({}), shown, null, last)).toBe(20); // 23,800 is not in the chain shown
    expect(livePrice(leg({ expiry: "2026-12-31" }), shown, null, last)).toBeNull();
    const underlying = leg({ option_type: null, strike: null, expiry: null });
    expect(livePrice(underlying, shown, 24012.5, null)).toBe(24012.5);
    expect(livePrice(underlying, shown, null, null)).toBe(24010);
    expect(livePrice({ ...underlying, product: "BTC" }, shown, 24012.5, null)).toBeNull();
  });
});

describe("refusals", () => {
  it("puts a 422's fields by field, and says the rest", () => {
    const err = new ApiError(422, "invalid", "invalid request: legs[2].strike", {
      "legs[2].strike": ["24010 not listed"],
    });
    expect(refusal(err)).toEqual({ errors: { "legs[2].strike": "24010 not listed" }, message: null });
    const gone = new ApiError(404, "not_found", "no live chain", {
      "legs[0].expiry": ["no live chain for 2026-12-10"],
    });
    expect(refusal(gone).errors).toEqual({ "legs[0].expiry": "no live chain for 2026-12-10" });
    expect(refusal(new ApiError(409, "strategy_limit", "100 strategies"), "Strategy limit reached")).toEqual({
      errors: {},
      message: "Strategy limit reached: 100 strategies",
    });
    expect(refusal(new ApiError(503, "unavailable", "no Redis"))).toEqual({ errors: {}, message: "no Redis" });
    expect(refusal(new TypeError("Failed to fetch")).message).toBe("Cannot reach the server. Check your connection.");
  });
});
