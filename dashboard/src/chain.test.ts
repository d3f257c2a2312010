import { describe, expect, it } from "vitest";
import {
  appendHistory,
  atmStrike,
  baselineFromChain,
  baselineFromOiChange,
  bucketStart,
  fromSeries,
  isItm,
  moneyLevel,
  oiBars,
  smilePoints,
  strikeWindow,
  type HistoryPoint,
} from "./chain";
import type { ChainRow } from "./types";

const row = (strike: number, extra: Partial<ChainRow> = {}): ChainRow => ({
  strike,
  bid: 1,
  ask: 2,
  last: 1.5,
  volume: 10,
  oi: 100,
  iv: 0.2,
  delta: 0.5,
  gamma: null,
  theta: null,
  vega: null,
  rho: null,
  oi_change: null,
  buildup: null,
  gex: null,
  ...extra,
});

describe("moneyness", () => {
  it("calls are ITM below spot, puts above, the strike at spot neither", () => {
    expect(isItm("call", 23900, 24000)).toBe(true);
    expect(isItm("call", 24100, 24000)).toBe(false);
    expect(isItm("put", 24100, 24000)).toBe(true);
    expect(isItm("put", 23900, 24000)).toBe(false);
    expect(isItm("call", 24000, 24000)).toBe(false);
    expect(isItm("put", 24000, 24000)).toBe(false);
  });

  it("ATM is the message's strike, else the nearest (ties low)", () => {
    const strikes = [23900, 23950, 24000, 24050];
    expect(atmStrike({ strikes, spot_price: 24010, atm_strike: 24000 })).toBe(24000);
    expect(atmStrike({ strikes, spot_price: 24030, atm_strike: null })).toBe(24050);
    expect(atmStrike({ strikes, spot_price: 23975, atm_strike: null })).toBe(23950);
    expect(atmStrike({ strikes, spot_price: 24030, atm_strike: 99999 })).toBe(24050);
    expect(atmStrike({ strikes: [], spot_price: 1, atm_strike: null })).toBeNull();
  });

  it("the money is the chain's forward when it has one, else spot", () => {
    // A BTC chain: index 96,800, forward 2 % above it; strikes 1,000 apart.
    const strikes = [96000, 97000, 98000, 99000, 100000];
    expect(moneyLevel({ spot_price: 96800, forward: 98736 })).toBe(98736);
    expect(moneyLevel({ spot_price: 96800 })).toBe(96800);
    expect(atmStrike({ strikes, spot_price: 96800, forward: 98736, atm_strike: null })).toBe(99000);
    expect(atmStrike({ strikes, spot_price: 96800, atm_strike: null })).toBe(97000);
    // 98,000 is below spot's level yet ITM for a call only against the forward
    expect(isItm("call", 98000, moneyLevel({ spot_price: 96800, forward: 98736 }))).toBe(true);
    expect(isItm("call", 98000, moneyLevel({ spot_price: 96800 }))).toBe(false);
  });

  it("windows strikes around ATM", () => {
    const s = [1, 2, 3, 4, 5, 6, 7];
    expect(strikeWindow(s, 4, 2)).toEqual([1, 6]);
    expect(strikeWindow(s, 1, 2)).toEqual([0, 3]);
    expect(strikeWindow(s, 7, 10)).toEqual([0, 7]);
    expect(strikeWindow(s, 4, null)).toEqual([0, 7]);
  });
});

describe("history", () => {
  const t0 = Date.UTC(2026, 10, 21, 9, 41, 0);
  const chain = (ms: number, pcr: number | null) => ({
    timestamp: new Date(ms).toISOString(),
    pcr_oi: pcr,
    pcr_volume: 1,
    max_pain_strike: 24000,
  });

  it("aligns buckets to the epoch", () => {
    expect(bucketStart(t0 + 59_999, 60)).toBe(t0);
    expect(bucketStart(t0 + 60_000, 60)).toBe(t0 + 60_000);
  });

  it("replaces the point of the same bucket, appends a new one, drops older ones", () => {
    const h: HistoryPoint[] = [];
    appendHistory(h, chain(t0 + 1000, 0.9), 60);
    appendHistory(h, chain(t0 + 30_000, 1.1), 60);
    expect(h).toHaveLength(1);
    expect(h[0].pcr_oi).toBe(1.1);
    appendHistory(h, chain(t0 + 61_000, 1.2), 60);
    expect(h.map((p) => p.t)).toEqual([t0, t0 + 60_000]);
    appendHistory(h, chain(t0 + 5_000, 5), 60);
    expect(h).toHaveLength(2);
    expect(h[0].pcr_oi).toBe(1.1);
  });

  it("keeps nulls and bounds its length", () => {
    const h: HistoryPoint[] = [];
    for (let i = 0; i < 10; i++) appendHistory(h, chain(t0 + i * 60_000, null), 60, 5);
    expect(h).toHaveLength(5);
    expect(h[0].pcr_oi).toBeNull();
  });

  it("reads series points in time order", () => {
    const pts = fromSeries([
      { t: "2026-11-21T09:42:00.000Z", pcr_oi: 1, max_pain: 24000 },
      { t: "2026-11-21T09:41:00.000Z", pcr_oi: null, pcr_volume: 0.5 },
      { t: "bad" },
    ]);
    expect(pts.map((p) => p.pcr_oi)).toEqual([null, 1]);
    expect(pts[0].pcr_volume).toBe(0.5);
    expect(pts[1].pcr_volume).toBeNull();
  });
});

describe("chart series", () => {
  const c = {
    strikes: [100, 110, 120],
    spot_price: 110,
    calls: [row(100, { oi: 50, iv: 0.3 }), row(110, { oi: 80, iv: 0.25 }), row(120, { oi: 120, iv: null })],
    puts: [row(100, { oi: 150, iv: 0.32 }), row(110, { oi: 90, iv: 0.26 }), row(120, { oi: 20, iv: 0.22 })],
  };

  it("OI change is against the baseline, null where it has no value", () => {
    const base = baselineFromOiChange({
      product: "X",
      expiry: "2026-11-26",
      from_timestamp: null,
      to_timestamp: null,
      strikes: [
        {
          strike: 100,
          call_oi_from: 40,
          call_oi_to: 50,
          call_oi_change: 10,
          put_oi_from: null,
          put_oi_to: 150,
          put_oi_change: null,
        },
        {
          strike: 110,
          call_oi_from: 100,
          call_oi_to: 80,
          call_oi_change: -20,
          put_oi_from: 90,
          put_oi_to: 90,
          put_oi_change: 0,
        },
      ],
    });
    const bars = oiBars(c, base);
    expect(bars.callOi).toEqual([50, 80, 120]);
    expect(bars.callChange).toEqual([10, -20, null]);
    expect(bars.putChange).toEqual([null, 0, null]);
    expect(oiBars(c, baselineFromChain(c)).callChange).toEqual([0, 0, 0]);
    expect(oiBars(c, null).putChange).toEqual([null, null, null]);
  });

  it("smile's OTM side splits at the forward when the chain has one", () => {
    // spot 110 would take the call at 110; the forward 115 takes the put there
    expect(smilePoints({ ...c, forward: 115 }).otm).toEqual([
      [100, 32],
      [110, 26],
    ]);
  });

  it("smile in percent, OTM side from puts below spot and calls from spot up", () => {
    const s = smilePoints(c);
    expect(s.call).toEqual([
      [100, 30],
      [110, 25],
    ]);
    expect(s.put.map((p) => p[0])).toEqual([100, 110, 120]);
    expect(s.otm).toEqual([
      [100, 32],
      [110, 25],
    ]);
  });
});
