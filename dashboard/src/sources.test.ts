import { describe, expect, it } from "vitest";
import { parseUnderlying } from "./messages";
import {
  SOURCE_STATE_LABEL,
  deviationBps,
  elapsedSince,
  fmtBps,
  fmtSourceAge,
  median,
  orderSources,
  parseSources,
  referenceNote,
  referenceState,
  referenceStale,
  sourceAgeMs,
} from "./sources";
import { referenceTick } from "./test/fixtures";
import type { SourcePrice } from "./types";

const SOURCES = referenceTick().sources as SourcePrice[];
const src = (source: string, state: SourcePrice["state"], price = 100): SourcePrice => ({
  source,
  price,
  age_ms: 0,
  state,
});

describe("reading sources", () => {
  it("keeps the entries it can show, and says whether the tick is a reference price at all", () => {
    expect(parseSources(SOURCES)).toEqual(SOURCES);
    const mixed = [
      { source: "kraken", price: 97_001, age_ms: -5, state: "stale" }, // a clock behind: age 0
      { source: "", price: 1, age_ms: 1, state: "live" },
      { source: "x", price: 0, age_ms: 1, state: "live" },
      { source: "x", price: "97000", age_ms: 1, state: "live" },
      { source: "x", price: 1, age_ms: null, state: "live" },
      { source: "x", price: 1, age_ms: 1, state: "asleep" },
      null,
      [1],
    ];
    expect(parseSources(mixed)).toEqual([{ source: "kraken", price: 97_001, age_ms: 0, state: "stale" }]);
    expect(parseSources([])).toEqual([]);
    expect(parseSources(undefined)).toBeNull();
    expect(parseSources({ deribit: 1 })).toBeNull();
  });

  it("cleans a tick's sources at the edge, or drops a field that is not a list", () => {
    const tick = parseUnderlying(JSON.stringify(referenceTick({ sources: [...SOURCES, { source: "bad" }] as never })));
    expect(tick?.sources).toEqual(SOURCES);
    expect(parseUnderlying({ ...referenceTick(), sources: "deribit" })).not.toHaveProperty("sources");
    expect(parseUnderlying({ ...referenceTick(), sources: undefined })).not.toHaveProperty("sources");
  });
});

describe("the list", () => {
  it("puts the live sources first, then quarantined, stale and down, by name within each", () => {
    const order = orderSources([
      src("zeta", "down"),
      src("kraken", "stale"),
      src("coinbase", "quarantined"),
      src("deribit", "live"),
      src("binance", "live"),
      src("alpha", "stale"),
    ]).map((s) => `${s.source}:${s.state}`);
    expect(order).toEqual([
      "binance:live",
      "deribit:live",
      "coinbase:quarantined",
      "alpha:stale",
      "kraken:stale",
      "zeta:down",
    ]);
    expect(orderSources(SOURCES).map((s) => s.source)).toEqual(["binance", "deribit", "coinbase"]);
    expect(SOURCES.map((s) => s.source)).toEqual(["deribit", "coinbase", "binance"]); // not sorted in place
  });

  it("names every state in words", () => {
    expect(SOURCE_STATE_LABEL).toEqual({ live: "Live", quarantined: "Quarantined", stale: "Stale", down: "Down" });
  });

  it("ages each source by the time since the worker enriched the tick, on the page's clock", () => {
    const tick = referenceTick(); // processed at 09:41:00.300
    const now = Date.parse("2026-11-21T09:41:02.000Z");
    expect(elapsedSince(tick, now)).toBe(1_700);
    expect(sourceAgeMs(SOURCES[1], 1_700)).toBe(2_900); // coinbase: 1,200 ms at the tick
    expect(elapsedSince(tick, Date.parse("2026-11-21T09:41:00.000Z"))).toBe(0); // page clock behind
    expect(elapsedSince({ processed_at: "" }, now)).toBe(0);
    expect(sourceAgeMs(SOURCES[0], -50)).toBe(250);
  });

  it("writes ages compactly", () => {
    expect(fmtSourceAge(40)).toBe("40 ms");
    expect(fmtSourceAge(999.4)).toBe("999 ms");
    expect(fmtSourceAge(999.6)).toBe("1.0 s");
    expect(fmtSourceAge(1_000)).toBe("1.0 s");
    expect(fmtSourceAge(2_950)).toBe("2.9 s");
    expect(fmtSourceAge(14_200)).toBe("14 s");
    expect(fmtSourceAge(185_000)).toBe("3 min");
    expect(fmtSourceAge(7_300_000)).toBe("2 h");
    expect(fmtSourceAge(-10)).toBe("0 ms");
    expect(fmtSourceAge(NaN)).toBe("—");
  });

  it("measures each source's distance from the reference in basis points", () => {
    // coinbase 98,503.50 against 97,000: 98,503.5 / 97,000 = 1.0155 exactly, 155 bp
    expect(deviationBps(98_503.5, 97_000)).toBeCloseTo(155, 9);
    expect(fmtBps(deviationBps(98_503.5, 97_000))).toBe("+155 bp");
    // deribit 96,990: −10/97,000 = −1.0309 bp
    expect(fmtBps(deviationBps(96_990, 97_000))).toBe("\u22121 bp");
    expect(fmtBps(deviationBps(97_000.5, 97_000))).toBe("+0.1 bp"); // 0.0515 bp
    expect(fmtBps(deviationBps(97_000, 97_000))).toBe("0 bp");
    expect(fmtBps(deviationBps(97_000.01, 97_000))).toBe("0 bp"); // 0.001 bp
    expect(deviationBps(1, 0)).toBeNull();
    expect(fmtBps(null)).toBe("—");
  });
});

describe("the reference", () => {
  it("says what it is made of, and is stale without a live source", () => {
    expect(referenceNote(97_000, SOURCES)).toBe("median of 2 live sources of 3"); // (96,990 + 97,010) / 2
    expect(referenceState(97_000, SOURCES)).toBe("live");
    expect(referenceStale(SOURCES)).toBe(false);
    const one = [src("deribit", "live"), src("binance", "stale", 104)];
    expect(referenceNote(100, one)).toBe("1 live source of 2");
    const none = [src("deribit", "stale"), src("binance", "down"), src("coinbase", "quarantined")];
    expect(referenceNote(100, none)).toBe("no live source of 3: last good value");
    expect([referenceState(100, none), referenceStale(none)]).toEqual(["stale", true]);
    expect(referenceNote(100, [])).toBe("no source reported");
    expect(referenceStale([])).toBe(false); // no sources: not a reference price
  });

  it("says when the price is held because the live sources disagree", () => {
    // 100 and 102 are 200 bp apart: the feed keeps the last good value, 99.5, not their mean 101
    const two = [src("deribit", "live", 100), src("binance", "live", 102)];
    expect(referenceState(99.5, two)).toBe("suspect");
    expect(referenceNote(99.5, two)).toBe("last good value held: 2 live sources of 2 disagree");
    expect(referenceState(101, two)).toBe("live");
    expect(referenceState(101 * (1 + 1e-12), two)).toBe("live"); // float noise is not a hold
  });

  it("takes the median of an odd and an even count", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([97_010, 96_990, 98_503.5, 97_000])).toBe(97_005);
    expect(median([])).toBeNull();
  });
});
