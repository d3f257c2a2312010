import { describe, expect, it } from "vitest";
import { formatHash, parseHash, resolveSelection } from "./hash";
import { backoffMs, socketUrl } from "./live";

const products = [
  { product: "BANKNIFTY", expiries: ["2026-11-25", "2026-12-30"] },
  { product: "NIFTY", expiries: ["2026-11-18", "2026-11-26", "2026-12-31"] },
];

describe("hash", () => {
  it("round-trips", () => {
    const s = { page: "market" as const, product: "NIFTY", expiry: "2026-11-26", interval: "5m" as const, strikes: 10 };
    expect(parseHash(formatHash(s))).toEqual(s);
    expect(formatHash({ ...s, expiry: null, interval: "1m", strikes: null })).toBe("#product=NIFTY");
    const strategy = { ...s, page: "strategy" as const };
    expect(formatHash(strategy)).toBe("#page=strategy&product=NIFTY&expiry=2026-11-26&interval=5m&strikes=10");
    expect(parseHash(formatHash(strategy))).toEqual(strategy);
  });

  it("ignores junk", () => {
    const none = { page: "market", product: null, expiry: null, interval: "1m", strikes: null };
    expect(parseHash("#interval=7m&strikes=3&page=orders")).toEqual(none);
    expect(parseHash("")).toEqual(none);
  });

  it("resolves against the listing", () => {
    const base = { page: "strategy" as const, interval: "1m" as const, strikes: null };
    expect(resolveSelection({ ...base, product: "NIFTY", expiry: "2026-12-31" }, products, "2026-11-21").expiry).toBe(
      "2026-12-31",
    );
    expect(resolveSelection({ ...base, product: "NIFTY", expiry: "2030-01-01" }, products, "2026-11-21").expiry).toBe(
      "2026-11-26",
    );
    expect(resolveSelection({ ...base, product: "NOPE", expiry: null }, products, "2026-11-21")).toMatchObject({
      page: "strategy",
      product: "BANKNIFTY",
      expiry: "2026-11-25",
    });
    expect(resolveSelection({ ...base, product: "NIFTY", expiry: null }, products, "2027-06-01").expiry).toBe(
      "2026-12-31",
    );
    expect(resolveSelection({ ...base, product: "NIFTY", expiry: "x" }, [], "2026-11-21")).toMatchObject({
      product: null,
      expiry: null,
    });
  });
});

describe("socket", () => {
  it("connects to socket_url, else this host on socket_port", () => {
    const loc = { protocol: "https:", hostname: "dash.example" };
    expect(socketUrl({ socket_url: "wss://rt.example", socket_port: 8002 }, loc)).toBe("wss://rt.example");
    expect(socketUrl({ socket_url: null, socket_port: 8002 }, loc)).toBe("https://dash.example:8002");
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffMs(1, 2000, 60000, () => 0)).toBe(1000);
    expect(backoffMs(1, 2000, 60000, () => 1)).toBe(2000);
    expect(backoffMs(3, 2000, 60000, () => 1)).toBe(8000);
    expect(backoffMs(20, 2000, 60000, () => 1)).toBe(60000);
  });
});
