import { describe, expect, it } from "vitest";
import { surfaceCells } from "./surfaceChart";
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

describe("IV surface cells", () => {
  it("are [strike index, expiry index, IV %] of the cells with an IV, with their range", () => {
    expect(
      surfaceCells({
        iv: [
          [0.151, null, 0.1432],
          [null, 0.1601, 0.15],
        ],
      }),
    ).toEqual({
      cells: [
        [0, 0, 15.1],
        [2, 0, 14.32],
        [1, 1, 16.01],
        [2, 1, 15],
      ],
      min: 14.32,
      max: 16.01,
    });
    expect(surfaceCells({ iv: [[null]] })).toEqual({ cells: [], min: 0, max: 0 });
  });
});
