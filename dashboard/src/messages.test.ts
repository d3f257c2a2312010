import { describe, expect, it } from "vitest";
import { asObject, parseAck, parseChain, parseMode, parseServerError, parseUnderlying } from "./messages";

const chain = {
  product: "NIFTY",
  expiry: "2026-11-26",
  timestamp: "2026-11-21T09:41:00.123Z",
  seq: 7,
  spot_price: 24000,
  strikes: [23950, 24000],
  calls: [{ strike: 23950 }, { strike: 24000 }],
  puts: [{ strike: 23950 }, { strike: 24000 }],
  pcr_oi: null,
};

const candle = { start: "2026-11-21T09:41:00.000Z", open: 1, high: 2, low: 0.5, close: 1.5, volume: 3 };

describe("decoding", () => {
  it("takes objects and JSON strings alike", () => {
    expect(asObject({ a: 1 })).toEqual({ a: 1 });
    expect(asObject('{"a":1}')).toEqual({ a: 1 });
    expect(asObject(new TextEncoder().encode('{"a":2}'))).toEqual({ a: 2 });
    expect(asObject("not json")).toBeNull();
    expect(asObject("[1]")).toBeNull();
    expect(asObject(null)).toBeNull();
  });

  it("accepts a chain as object or string and refuses broken ones", () => {
    expect(parseChain(chain)?.seq).toBe(7);
    expect(parseChain(JSON.stringify(chain))?.product).toBe("NIFTY");
    expect(parseChain({ ...chain, calls: [{}] })).toBeNull();
    expect(parseChain({ ...chain, strikes: [1, "x"] })).toBeNull();
    expect(parseChain({ ...chain, spot_price: null })).toBeNull();
    expect(parseChain("{")).toBeNull();
  });

  it("keeps good candles of an underlying tick and drops broken ones", () => {
    const u = parseUnderlying({
      type: "underlying",
      product: "NIFTY",
      price: 24000,
      volume: 1,
      timestamp: candle.start,
      seq: 1,
      ohlc_1min: candle,
      ohlc_5min: { ...candle, open: null },
      volume_1min: 5,
      processed_at: candle.start,
    });
    expect(u?.ohlc_1min).toEqual(candle);
    expect(u?.ohlc_5min).toBeUndefined();
    expect(parseUnderlying({ product: "NIFTY" })).toBeNull();
  });

  it("reads acks, errors and modes", () => {
    expect(parseAck({ ok: true, rooms: ["chain:NIFTY:2026-11-26"] })).toEqual({
      ok: true,
      rooms: ["chain:NIFTY:2026-11-26"],
      error: null,
    });
    expect(parseAck('{"ok": false, "error": {"code": "unknown_expiry", "message": "No such expiry"}}').error).toEqual({
      code: "unknown_expiry",
      message: "No such expiry",
    });
    expect(parseAck(undefined).ok).toBe(false);
    expect(parseServerError({ code: "too_many_connections", message: "Limit 5" })).toEqual({
      code: "too_many_connections",
      message: "Limit 5",
    });
    expect(parseServerError("plain reason")).toEqual({ code: "error", message: "plain reason" });
    expect(parseMode({ mode: "degraded", max_rate_hz: 2 })).toEqual({ mode: "degraded", maxRateHz: 2 });
    expect(parseMode('{"mode":"normal"}')).toEqual({ mode: "normal", maxRateHz: null });
    expect(parseMode({ mode: "weird" })).toBeNull();
  });
});
