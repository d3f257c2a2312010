import { describe, expect, it } from "vitest";
import { formatsFor } from "../format";
import { PRODUCTS } from "../test/fixtures";
import { alert, trigger } from "../test/alerts";
import {
  expiryText,
  fmtMetric,
  fmtThreshold,
  fmtWhen,
  fmtWindow,
  formatsOfProduct,
  ruleText,
  thresholdScale,
  thresholdUnit,
  triggerText,
} from "./text";

const INR = formatsFor("INR");
const USD = formatsFor("USD");
/** A wire timestamp of a local wall-clock time (the tests run in any time zone). */
const local = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
  new Date(y, mo - 1, d, h, mi, s).toISOString();

describe("metric values", () => {
  it("are shown in each metric's unit and the currency's grouping", () => {
    expect(fmtMetric("spot", 2_451_234.5, INR)).toBe("24,51,234.50");
    expect(fmtMetric("spot", 97_010.5, USD)).toBe("97,010.50");
    expect(fmtMetric("atm_iv", 0.25314, INR)).toBe("25.31%");
    expect(fmtMetric("risk_reversal_25d", -0.0235, INR)).toBe("-2.35 pts");
    expect(fmtMetric("pcr_oi", 0.8734, INR)).toBe("0.87");
    expect(fmtMetric("max_pain_strike", 24_000, INR)).toBe("24,000");
    expect(fmtMetric("oi_change", 1_250, INR)).toBe("+1,250");
    expect(fmtMetric("net_gex", 125_000_000, INR)).toBe("12.5Cr");
    expect(fmtMetric("net_gex", -2_500_000, USD)).toBe("-2.5M");
    expect(fmtMetric("spot", null, INR)).toBe("—");
  });

  it("thresholds of IV are typed in percent, RR in vol points, a change_pct in percent of a move", () => {
    expect([thresholdScale("iv", "above"), thresholdScale("risk_reversal_25d", "below")]).toEqual([100, 100]);
    expect([thresholdScale("iv", "change_pct"), thresholdScale("spot", "crosses_above")]).toEqual([1, 1]);
    expect(thresholdUnit("iv", "above", INR)).toBe("%");
    expect(thresholdUnit("spot", "above", USD)).toBe("USD");
    expect(thresholdUnit("net_gex", "below", INR)).toBe("INR per 1%");
    expect(thresholdUnit("spot", "change_pct", INR)).toBe("% move");
  });

  it("a change_pct threshold reads as a move within its window", () => {
    expect(fmtThreshold({ metric: "spot", op: "change_pct", value: 5, window_s: 300 }, INR)).toBe("5% in 5 min");
    expect(fmtThreshold({ metric: "spot", op: "change_pct", value: 2.5, window_s: 5_400 }, INR)).toBe(
      "2.50% in 1 h 30 min",
    );
    expect(fmtThreshold({ metric: "iv", op: "above", value: 0.25, window_s: null }, INR)).toBe("25.00%");
    expect([fmtWindow(45), fmtWindow(90), fmtWindow(3_600)]).toEqual(["45 s", "90 s", "1 h"]);
  });
});

describe("rules and triggers", () => {
  it("a rule reads in one line, the option's strike and side with it", () => {
    const iv = alert("a1", { metric: "iv", value: 0.25, strike: 24_000, option_type: "CALL", expiry: "2026-11-26" });
    expect(ruleText(iv, INR)).toBe("NIFTY · IV 24,000 Call crosses above 25.00%");
    expect(ruleText(alert("a2", { op: "below", value: 23_950.5 }), INR)).toBe("NIFTY · Spot below 23,950.50");
  });

  it("an expiry reads as its date, the nearest one when none is named, none for the spot", () => {
    expect(expiryText(alert("a", { metric: "atm_iv", expiry: "2026-11-26" }), "2026-11-21")).toBe("26 Nov (Thu) · 5d");
    expect(expiryText(alert("a", { metric: "atm_iv", expiry: null }), "2026-11-21")).toBe("nearest expiry");
    expect(expiryText(alert("a", { metric: "spot" }), "2026-11-21")).toBe("—");
  });

  it("a trigger shows its value against its threshold and the data's local time", () => {
    const t = trigger("t1", local(2026, 11, 21, 9, 41, 0), {
      metric: "atm_iv",
      value: 0.2531,
      threshold: 0.25,
      timestamp: local(2026, 11, 21, 9, 40, 59),
    });
    expect(triggerText(t, INR, "2026-11-21")).toEqual({
      title: "NIFTY · ATM IV crosses above",
      value: "25.31%",
      threshold: "25.00%",
      at: "09:40:59",
    });
    expect(triggerText({ ...t, value: null }, INR, "2026-11-21").value).toBe("—");
  });

  it("a time of another day carries its date", () => {
    expect(fmtWhen(local(2026, 12, 6, 9, 41, 5), "2026-12-06")).toBe("09:41:05");
    expect(fmtWhen(local(2026, 12, 6, 9, 41, 5), "2026-12-07")).toBe("6 Dec 09:41:05");
    expect(fmtWhen("not a time", "2026-12-07")).toBe("—");
  });

  it("a trigger of any product is shown in that product's currency", () => {
    expect(formatsOfProduct(PRODUCTS, "BTC").currency).toBe("USD");
    expect(formatsOfProduct(PRODUCTS, "NIFTY").currency).toBe("INR");
    expect(formatsOfProduct(PRODUCTS, "UNLISTED").currency).toBe("INR");
  });
});
