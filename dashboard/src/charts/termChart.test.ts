import { describe, expect, it } from "vitest";
import { termSeries } from "./termChart";

describe("term structure series", () => {
  it("puts each expiry with an ATM IV at its days, in percent, nearest first", () => {
    expect(
      termSeries([
        { expiry: "2026-12-31", days: 40.25, atm_strike: 24100, atm_iv: 0.1612 },
        { expiry: "2026-12-03", days: 12, atm_strike: null, atm_iv: null },
        { expiry: "2026-11-26", days: 5.25, atm_strike: 24050, atm_iv: 0.15 },
      ]),
    ).toEqual([
      [5.25, 15],
      [40.25, 16.12],
    ]);
  });
});
