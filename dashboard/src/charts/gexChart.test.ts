import { describe, expect, it } from "vitest";
import { gexBars, nearestStrike } from "../chain";
import { formatsFor } from "../format";
import type { ChainRow } from "../types";
import { gexMarks } from "./gexChart";

const row = (strike: number, gex: number | null): ChainRow =>
  ({ strike, bid: 1, ask: 2, last: 1.5, volume: 0, oi: 10, gex }) as unknown as ChainRow;

const chain = {
  strikes: [23900, 24000, 24100],
  calls: [row(23900, 120.5), row(24000, 800), row(24100, null)],
  puts: [row(23900, -900), row(24000, -300), row(24100, null)],
  call_wall: 24000,
  put_wall: 23900,
  gex_flip: 23_962.4,
};

describe("gamma exposure by strike", () => {
  it("reads each side's gex and nets them, null only where both sides have none", () => {
    expect(gexBars(chain)).toEqual({
      strikes: [23900, 24000, 24100],
      call: [120.5, 800, null],
      put: [-900, -300, null],
      net: [-779.5, 500, null],
    });
  });

  it("marks the walls at their strikes and the flip at the strike nearest it, with its level", () => {
    const f = formatsFor("INR");
    const cats = chain.strikes.map((k) => f.strike(k));
    expect(gexMarks(chain, cats, f).map((m) => [m.at, m.label])).toEqual([
      ["24,000", "Call wall"],
      ["23,900", "Put wall"],
      ["24,000", "Flip 23,962.4"],
    ]);
    // Outside the strike window, or absent: no mark.
    expect(gexMarks({ ...chain, call_wall: 25000, put_wall: null, gex_flip: null }, cats, f)).toEqual([]);
  });

  it("finds the strike nearest a level, ties low", () => {
    expect(nearestStrike([100, 110, 120], 104.9)).toBe(100);
    expect(nearestStrike([100, 110, 120], 105)).toBe(100);
    expect(nearestStrike([100, 110, 120], 500)).toBe(120);
    expect(nearestStrike([], 100)).toBeNull();
    expect(nearestStrike([100], null)).toBeNull();
  });
});
