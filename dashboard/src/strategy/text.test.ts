import { describe, expect, it } from "vitest";
import { formatsFor } from "../format";
import { CONDOR_LEGS, savedDoc } from "../test/strategy";
import { parseSaved } from "./model";
import {
  breakevensText,
  curveLabel,
  greekLines,
  legText,
  limitText,
  limitsNote,
  outsideText,
  premiumText,
  probabilityText,
  savedSummary,
} from "./text";

const inr = formatsFor("INR");
const usd = formatsFor("USD");

describe("strategy numbers", () => {
  it("says a positive net premium is paid (a debit), a negative one received (a credit)", () => {
    expect(premiumText(-3975, inr)).toBe("Credit 3,975.00");
    expect(premiumText(1234567.891, inr)).toBe("Debit 12,34,567.89");
    expect(premiumText(1234567.891, usd)).toBe("Debit 1,234,567.89");
    expect(premiumText(0, inr)).toBe("0.00");
  });

  it("says an unbounded limit is unlimited", () => {
    expect(limitText(null, inr)).toBe("unlimited");
    expect(limitText(3525, inr)).toBe("3,525.00");
    expect(limitText(0, inr)).toBe("0.00");
  });

  it("lists the breakevens, or none", () => {
    expect(breakevensText([23847, 24153.456], inr)).toBe("23,847.00 · 24,153.46");
    expect(breakevensText([], inr)).toBe("none");
  });

  it("shows probabilities as percentages", () => {
    expect(probabilityText(0.6234)).toBe("62.3%");
    expect(probabilityText(1)).toBe("100.0%");
    expect(probabilityText(null)).toBe("—");
  });

  it("gives each Greek its unit: theta per day, vega per vol point", () => {
    const lines = greekLines({ delta: -1.25, gamma: -0.0123, theta: 612.5, vega: -845.25 }, inr);
    expect(lines.map((l) => [l.label, l.value, l.unit])).toEqual([
      ["Delta", "-1.25", "per 1 of spot"],
      ["Gamma", "-0.0123", "delta per 1 of spot"],
      ["Theta", "612.50", "INR per day"],
      ["Vega", "-845.25", "INR per vol point"],
    ]);
    expect(greekLines(null, usd).map((l) => l.value)).toEqual(["—", "—", "—", "—"]);
  });

  it("says where inexact limits and the density's outside mass come from", () => {
    expect(limitsNote({ limits_exact: true })).toBeNull();
    expect(limitsNote({ limits_exact: false })).toMatch(/over the chart's range/);
    expect(outsideText(0.0042)).toBe("0.4% of the density beyond the chart");
    expect(outsideText(0.0004)).toBeNull();
    expect(outsideText(null)).toBeNull();
  });
});

describe("strategy lines", () => {
  it("writes a leg and a saved strategy in a line", () => {
    expect(legText(CONDOR_LEGS[1], inr, "2026-11-21")).toBe("Sell 75 × 23,900 Put · 26 Nov (Thu) · 5d");
    const underlying = { ...CONDOR_LEGS[0], option_type: null, strike: null, expiry: null, quantity: 1.5 };
    expect(legText(underlying, inr, "2026-11-21")).toBe("Buy 1.5 × underlying");
    expect(savedSummary(parseSaved(savedDoc("st_1", "Condor"))!, "2026-11-21")).toBe("NIFTY · 4 legs · 26 Nov (Thu)");
  });

  it("names a curve's moment in UTC", () => {
    expect(curveLabel("2026-11-24T10:00:00Z")).toBe("24 Nov 10:00 UTC");
    expect(curveLabel("2026-12-01T03:05:59.900+05:30")).toBe("30 Nov 21:35 UTC");
    expect(curveLabel("someday")).toBe("someday");
  });
});
