import { describe, expect, it } from "vitest";
import {
  chainNote,
  clampInstant,
  fmtGap,
  fmtUtc,
  fmtUtcTime,
  notLiveTitle,
  parseUtcInput,
  stepInstant,
  utcInputValue,
} from "./travel";

const T = Date.parse("2026-11-21T09:41:05.000Z");

describe("the instant in the control, in UTC", () => {
  it("is written as a datetime-local value in UTC, to the second", () => {
    expect(utcInputValue(T)).toBe("2026-11-21T09:41:05");
    expect(utcInputValue(T + 999)).toBe("2026-11-21T09:41:05");
    expect(utcInputValue(Date.parse("2027-01-01T00:00:00Z") - 1000)).toBe("2026-12-31T23:59:59");
  });

  it("reads a datetime-local value as UTC, with or without seconds, whatever the browser's zone", () => {
    expect(parseUtcInput("2026-11-21T09:41:05")).toBe(T);
    expect(parseUtcInput("2026-11-21T09:41")).toBe(T - 5_000);
    expect(parseUtcInput("2026-11-21T09:41:05.250")).toBe(T);
    expect(parseUtcInput(utcInputValue(T))).toBe(T); // a round trip
  });

  it("refuses what is not an instant", () => {
    for (const bad of ["", "yesterday", "2026-11-21", "2026-02-30T10:00", "2026-11-21T24:00", "2026-11-21T09:60"]) {
      expect(parseUtcInput(bad)).toBeNull();
    }
  });

  it("is shown in UTC, labelled so", () => {
    expect(fmtUtc(T)).toBe("2026-11-21 09:41:05 UTC");
    expect(notLiveTitle(T)).toBe("Not live — as stored at 2026-11-21 09:41:05 UTC");
    expect(fmtUtcTime("2026-11-21T09:41:04.800Z")).toBe("09:41:04.800 UTC");
    expect(fmtUtcTime("garbled")).toBe("garbled");
  });
});

describe("steps and bounds", () => {
  const now = T + 30_500; // 09:41:35.500

  it("a step back from live starts at now, in whole seconds", () => {
    expect(stepInstant(null, -60_000, now)).toBe(Date.parse("2026-11-21T09:40:35.000Z"));
    expect(stepInstant(null, -300_000, now)).toBe(Date.parse("2026-11-21T09:36:35.000Z"));
  });

  it("a step from a chosen instant moves it; reaching now is live again", () => {
    expect(stepInstant(T, -300_000, now)).toBe(T - 300_000);
    expect(stepInstant(T - 300_000, 60_000, now)).toBe(T - 240_000);
    expect(stepInstant(T, 60_000, now)).toBeNull(); // 09:42:05 is after now
    expect(stepInstant(T - 30_000, 60_000, T + 30_000)).toBeNull(); // exactly now: live
    expect(stepInstant(null, 60_000, now)).toBeNull();
  });

  it("an instant chosen after now is now; any is whole seconds", () => {
    expect(clampInstant(T + 3_600_000, now)).toBe(T + 30_000);
    expect(clampInstant(T + 999, now)).toBe(T);
    expect(clampInstant(T - 86_400_000, now)).toBe(T - 86_400_000);
  });
});

describe("the banner's note on the chain shown", () => {
  it("says how long before the instant the chain was taken", () => {
    expect(fmtGap(T, "2026-11-21T09:41:04.800Z")).toBe("0.2 s");
    expect(fmtGap(T, "2026-11-21T09:40:50.000Z")).toBe("15 s");
    expect(fmtGap(T, "2026-11-21T09:38:00.000Z")).toBe("3 min 5 s");
    expect(fmtGap(T, "2026-11-21T07:37:00.000Z")).toBe("2 h 4 min");
    expect(fmtGap(T, "2026-11-21T09:41:05.000Z")).toBe("0.0 s");
    expect(fmtGap(T, "garbled")).toBe("—");
  });

  it("says it is reading, or gives the chain's timestamp, or why there is no chain", () => {
    expect(chainNote(T, null, true, null)).toBe("reading the stored chain…");
    expect(chainNote(T, "2026-11-21T09:41:04.800Z", false, null)).toBe("chain of 09:41:04.800 UTC, 0.2 s before");
    expect(chainNote(T, null, false, "No chain of this expiry stored at or before …")).toBe(
      "No chain of this expiry stored at or before …",
    );
    expect(chainNote(T, null, false, null)).toBe("no chain shown");
  });
});
