import { describe, expect, it } from "vitest";
import { formatsFor } from "../format";
import { parseEvaluation } from "../strategy/model";
import { CONDOR_AT_EXPIRY, CONDOR_SPOTS, condorAnswer } from "../test/strategy";
import { densityCurves, payoffCurves, payoffMarks } from "./payoffChart";

const condor = parseEvaluation(condorAnswer())!;

describe("payoff chart", () => {
  it("draws the expiry curve, today's and each date's, on the answer's spots", () => {
    const curves = payoffCurves(condor.payoff);
    expect(curves.map((c) => [c.name, c.kind])).toEqual([
      ["At expiry", "expiry"],
      ["Today", "today"],
      ["24 Nov 10:00 UTC", "date"],
    ]);
    expect(curves[0].data).toEqual(CONDOR_SPOTS.map((s, i) => [s, CONDOR_AT_EXPIRY[i]]));
    expect(curves[1].data[5]).toEqual([24010, 950]);
    expect(curves.every((c) => c.data.length === CONDOR_SPOTS.length)).toBe(true);
  });

  it("marks the breakevens and spot inside the chart's range", () => {
    const f = formatsFor("INR");
    expect(payoffMarks(condor, f)).toEqual([
      { at: 23847, label: "BE 23,847.00", kind: "breakeven" },
      { at: 24153, label: "BE 24,153.00", kind: "breakeven" },
      { at: 24010, label: "Spot 24,010.00", kind: "spot" },
    ]);
    const outside = { ...condor, spot: 30000, breakevens: [20000, 24153] };
    expect(payoffMarks(outside, f).map((m) => m.at)).toEqual([24153]);
    expect(payoffMarks({ ...condor, payoff: { ...condor.payoff, spots: [] } }, f)).toEqual([]);
  });

  it("draws the risk-neutral density beside the lognormal", () => {
    const { riskNeutral, lognormal } = densityCurves(condor.density);
    expect(riskNeutral[2]).toEqual([24000, 0.0021]);
    expect(lognormal[2]).toEqual([24000, 0.0022]);
    expect(densityCurves(null)).toEqual({ riskNeutral: [], lognormal: [] });
    // Within the payoff chart's spots only, so both charts share their axis.
    const within = densityCurves(condor.density, 23800, 24150);
    expect(within.riskNeutral.map(([x]) => x)).toEqual([23850, 24000, 24150]);
    expect(within.lognormal.map(([, y]) => y)).toEqual([0.0012, 0.0022, 0.0011]);
  });
});
