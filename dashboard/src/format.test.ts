import { describe, expect, it } from "vitest";
import {
  DASH,
  buildupInfo,
  fmtAge,
  fmtCompact,
  fmtExpiry,
  fmtInt,
  fmtIvPct,
  fmtNum,
  fmtPct,
  fmtPrice,
  fmtSignedInt,
  fmtStrike,
  fmtVolPts,
  formatsFor,
  localToday,
} from "./format";

describe("numbers", () => {
  it("groups the Indian way", () => {
    expect(fmtInt(1234567)).toBe("12,34,567");
    expect(fmtInt(120000)).toBe("1,20,000");
    expect(fmtNum(24512.5)).toBe("24,512.50");
    expect(fmtStrike(24000)).toBe("24,000");
    expect(fmtStrike(102.5)).toBe("102.5");
  });

  it("never shows NaN or null", () => {
    for (const f of [fmtInt, fmtNum, fmtPct, fmtIvPct, fmtPrice, fmtSignedInt, fmtStrike, fmtVolPts, fmtCompact]) {
      for (const v of [null, undefined, Number.NaN, Infinity, "12", {}]) expect(f(v as never)).toBe(DASH);
    }
  });

  it("shows a zero price as no quote", () => {
    expect(fmtPrice(0)).toBe(DASH);
    expect(fmtPrice(0.05)).toBe("0.05");
    expect(fmtPrice(1234.5)).toBe("1,234.50");
  });

  it("formats IV as a percentage with two decimals", () => {
    expect(fmtPct(0.14237)).toBe("14.24%");
    expect(fmtIvPct(0.1)).toBe("10.00");
    expect(fmtVolPts(-0.0235)).toBe("-2.35 pts");
    expect(fmtVolPts(0.001)).toBe("+0.10 pts");
  });

  it("signs changes", () => {
    expect(fmtSignedInt(1250)).toBe("+1,250");
    expect(fmtSignedInt(-300)).toBe("-300");
    expect(fmtSignedInt(0)).toBe("0");
  });

  it("compacts for axes in K, lakh and crore", () => {
    expect(fmtCompact(12500)).toBe("12.5K");
    expect(fmtCompact(125000)).toBe("1.25L");
    expect(fmtCompact(25_000_000)).toBe("2.5Cr");
    expect(fmtCompact(-20000)).toBe("-20K");
    expect(fmtCompact(0)).toBe("0");
  });
});

describe("formats per currency", () => {
  const usd = formatsFor("USD");
  const inr = formatsFor("INR");

  it("group USD by thousands: strikes like 95,000, spot and option prices to the cent", () => {
    expect(usd.currency).toBe("USD");
    expect(usd.strike(95000)).toBe("95,000");
    expect(usd.strike(1_250_000)).toBe("1,250,000");
    expect(usd.strike(3512.5)).toBe("3,512.5");
    expect(usd.num(95123.456, 2)).toBe("95,123.46");
    expect(usd.price(2235.4011)).toBe("2,235.40");
    expect(usd.price(9.5)).toBe("9.50");
    expect(usd.price(0)).toBe(DASH);
  });

  it("show a quantity in coins with its decimal, a whole one without", () => {
    expect(usd.qty(1234.5)).toBe("1,234.5");
    expect(usd.qty(1234)).toBe("1,234");
    expect(usd.qty(0.25)).toBe("0.25");
    expect(usd.qty(1234.6000000000001)).toBe("1,234.6");
    expect(usd.signedQty(1234.6 - 1234.5)).toBe("+0.1");
    expect(usd.signedQty(-2)).toBe("-2");
    expect(usd.signedQty(0)).toBe("0");
  });

  it("keep INR as the synthetic products always had it", () => {
    expect(inr.qty(1234567)).toBe(fmtInt(1234567));
    expect(inr.qty(1234567)).toBe("12,34,567");
    expect(inr.price(1234.5)).toBe(fmtPrice(1234.5));
    expect(inr.strike(24000)).toBe(fmtStrike(24000));
    expect(inr.num(24512.5)).toBe("24,512.50");
    expect(inr.signedQty(1250)).toBe(fmtSignedInt(1250));
    expect(inr.compact(125000)).toBe("1.25L");
  });

  it("compact western units outside INR", () => {
    expect(usd.compact(1_250_000)).toBe("1.25M");
    expect(usd.compact(125000)).toBe("125K");
    expect(usd.compact(2_500_000_000)).toBe("2.5B");
    expect(usd.compact(-1500)).toBe("-1.5K");
  });

  it("price coins to their tick and fall back to INR when no currency is named", () => {
    expect(formatsFor("BTC").price(0.0235)).toBe("0.0235");
    expect(formatsFor(undefined)).toBe(inr);
    expect(formatsFor(null).currency).toBe("INR");
    expect(formatsFor("")).toBe(inr);
  });

  it("never show NaN or null", () => {
    for (const f of [usd, inr, formatsFor("BTC")]) {
      for (const fn of [f.num, f.price, f.strike, f.qty, f.signedQty, f.compact]) {
        for (const v of [null, undefined, Number.NaN, Infinity, "12", {}]) expect(fn(v)).toBe(DASH);
      }
    }
  });
});

describe("age", () => {
  it("reads like a clock", () => {
    expect(fmtAge(3400)).toBe("3 s ago");
    expect(fmtAge(-500)).toBe("0 s ago");
    expect(fmtAge(125_000)).toBe("2 min ago");
    expect(fmtAge(3 * 3600_000)).toBe("3 h ago");
    expect(fmtAge(null)).toBe(DASH);
  });
});

describe("labels", () => {
  it("names buildups", () => {
    expect(buildupInfo("long_buildup")?.short).toBe("LB");
    expect(buildupInfo("short_covering")?.tone).toBe("up");
    expect(buildupInfo("long_unwinding")?.tone).toBe("down");
    expect(buildupInfo(null)).toBeNull();
    expect(buildupInfo("nonsense")).toBeNull();
  });

  it("labels expiries with weekday and days left", () => {
    expect(fmtExpiry("2026-11-26", "2026-11-21")).toBe("26 Nov (Thu) · 5d");
    expect(fmtExpiry("2027-01-26", "2026-11-21")).toBe("26 Jan 2027 (Tue) · 66d");
    expect(fmtExpiry("2026-11-21", "2026-11-21")).toBe("21 Nov (Sat) · today");
    expect(fmtExpiry("2026-11-20", "2026-11-21")).toContain("expired");
    expect(fmtExpiry("junk", "2026-11-21")).toBe("junk");
  });

  it("takes today from the local calendar", () => {
    expect(localToday(new Date(2026, 0, 5, 23, 59))).toBe("2026-01-05");
  });
});

describe("formatsFor with an unexpected currency", () => {
  it("treats a code named like an Object property as any unknown currency", () => {
    for (const code of ["constructor", "toString", "__proto__", "XYZ"]) {
      const f = formatsFor(code);
      expect(f.currency).toBe(code);
      expect(f.price(1234.5)).toBe("1,234.50");
    }
  });
});
