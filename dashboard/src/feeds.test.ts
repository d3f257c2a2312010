import { describe, expect, it } from "vitest";
import {
  feedOfProduct,
  fmtMessageAge,
  fmtRate,
  parseFeeds,
  productFreshness,
  sessionLabel,
  unlistedProducts,
} from "./feeds";
import { FEEDS, FEEDS_ANSWER, PRODUCTS } from "./test/fixtures";

describe("parseFeeds", () => {
  it("reads the service's answer as it is, by venue", () => {
    const feeds = parseFeeds(FEEDS_ANSWER);
    expect(feeds).toEqual(FEEDS);
    expect(feeds.map((f) => [f.venue, f.state, f.session])).toEqual([
      ["deribit", "live", null],
      ["synthetic", "live", "simulated"],
    ]);
    expect(feeds[0].products.map((p) => [p.product, p.stale])).toEqual([
      ["BTC", false],
      ["ETH", true],
    ]);
  });

  it("reads a JSON string, sorts by venue and leaves out what it cannot show", () => {
    const answer = {
      feeds: [
        { venue: "synthetic", state: "down", stale: true, products: [{ product: "NIFTY" }, { stale: true }] },
        { venue: "kite", state: "asleep" },
        { state: "live" },
        "junk",
        { venue: "deribit", state: "degraded", messages_per_s: "fast", products: "none" },
      ],
    };
    const feeds = parseFeeds(JSON.stringify(answer));
    expect(feeds.map((f) => f.venue)).toEqual(["deribit", "synthetic"]);
    expect(feeds[0]).toMatchObject({ state: "degraded", reported_state: "degraded", messages_per_s: 0, products: [] });
    expect(feeds[1]).toMatchObject({ state: "down", stale: true, last_message_age_s: null, session: null });
    expect(feeds[1].products).toEqual([
      { product: "NIFTY", stale: false, last_message_age_s: null, messages_per_s: 0, messages: 0, dead_letters: 0 },
    ]);
    expect(parseFeeds(null)).toEqual([]);
    expect(parseFeeds({ feeds: "x" })).toEqual([]);
  });
});

describe("a product's feed", () => {
  it("is the feed that reports it", () => {
    expect(feedOfProduct(FEEDS, "BTC")?.feed.venue).toBe("deribit");
    expect(feedOfProduct(FEEDS, "NIFTY")?.entry.messages).toBe(18_000);
    expect(feedOfProduct(FEEDS, "TCS")).toBeNull();
  });

  it("prefers a fresh report when two feeds report the product", () => {
    const sim = { ...FEEDS[0], venue: "deribit-sim", products: [{ ...FEEDS[0].products[1], stale: false }] };
    expect(feedOfProduct([FEEDS[0], sim], "ETH")?.feed.venue).toBe("deribit-sim");
    expect(feedOfProduct([sim, FEEDS[0]], "ETH")?.feed.venue).toBe("deribit-sim");
  });

  it("says whether the product is stale", () => {
    expect(productFreshness(FEEDS, "BTC")).toBe("fresh");
    expect(productFreshness(FEEDS, "ETH")).toBe("stale"); // its feed says so
    expect(productFreshness(FEEDS, "TCS")).toBe("stale"); // feeds report, none this product
    expect(productFreshness(null, "BTC")).toBe("unknown"); // not asked yet
    expect(productFreshness([], "BTC")).toBe("unknown"); // no feed reports health (a replay)
    expect(productFreshness(FEEDS, null)).toBe("unknown");
  });

  it("names the products a feed streams that the listing lacks", () => {
    expect(unlistedProducts(FEEDS, PRODUCTS)).toEqual([]); // ETH is stale: not streaming
    const fresh = FEEDS.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: false })) }));
    expect(unlistedProducts(fresh, PRODUCTS)).toEqual(["ETH"]);
    expect(unlistedProducts(fresh, [])).toEqual(["BANKNIFTY", "BTC", "ETH", "NIFTY"]);
  });
});

describe("labels", () => {
  it("read ages, rates and the session", () => {
    expect(fmtMessageAge(0.42)).toBe("0.4 s ago");
    expect(fmtMessageAge(14.2)).toBe("14 s ago");
    expect(fmtMessageAge(125)).toBe("2 min ago");
    expect(fmtMessageAge(7300)).toBe("2 h ago");
    expect(fmtMessageAge(-0.3)).toBe("0.0 s ago");
    expect(fmtMessageAge(null)).toBe("no messages yet");
    expect(fmtRate(24.04)).toBe("24.0 msg/s");
    expect(fmtRate(412.6)).toBe("413 msg/s");
    expect(fmtRate(12345)).toBe("12,345 msg/s");
    expect(sessionLabel("simulated")).toBe("simulated session");
    expect(sessionLabel("exchange")).toBe("exchange calendar");
    expect(sessionLabel(null)).toBeNull();
  });
});
