import { describe, expect, it } from "vitest";
import {
  feedDetailText,
  feedFreshness,
  feedOfProduct,
  feedStateLabel,
  fmtMessageAge,
  fmtRate,
  parseFeeds,
  productFreshness,
  referenceEntryStale,
  referenceOfProduct,
  referenceSummary,
  sessionLabel,
  unlistedProducts,
} from "./feeds";
import { FEEDS, FEEDS_ANSWER, PRODUCTS, REFERENCE_FEEDS_ANSWER } from "./test/fixtures";

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
        { venue: "binance", state: 3 },
        "junk",
        { venue: "deribit", state: "degraded", messages_per_s: "fast", products: "none", detail: "  " },
      ],
    };
    const feeds = parseFeeds(JSON.stringify(answer));
    expect(feeds.map((f) => f.venue)).toEqual(["deribit", "kite", "synthetic"]);
    expect(feeds[0]).toMatchObject({ state: "degraded", reported_state: "degraded", messages_per_s: 0, products: [] });
    expect(feeds[0].detail).toBeNull();
    // A state this page does not know: shown down, with the state's name as its detail.
    expect(feeds[1]).toMatchObject({ state: "down", reported_state: "down", detail: "asleep" });
    expect(feeds[2]).toMatchObject({ state: "down", stale: true, last_message_age_s: null, session: null });
    expect(feeds[2].products).toEqual([
      {
        product: "NIFTY",
        stale: false,
        last_message_age_s: null,
        messages_per_s: 0,
        messages: 0,
        dead_letters: 0,
        sources: null,
      },
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

describe("the reference venue and a venue's detail", () => {
  const feeds = parseFeeds(REFERENCE_FEEDS_ANSWER);

  it("reads each source of a reference product, its age from age_s or age_ms", () => {
    const btc = referenceOfProduct(feeds, "BTC");
    expect(btc?.feed.venue).toBe("reference");
    expect(btc?.entry.sources).toEqual([
      { source: "deribit", state: "live", price: 96_990, age_s: 0.25 },
      { source: "binance", state: "live", price: 97_010, age_s: 0.04 },
      { source: "coinbase", state: "quarantined", price: 98_503.5, age_s: 1.2 },
    ]);
    const answer = {
      feeds: [
        {
          venue: "reference",
          state: "live",
          products: [
            {
              product: "BTC",
              sources: [
                { source: "kraken", state: "stale", age_ms: 1_500 },
                { source: "bitstamp", state: "asleep", price: 1 },
                { state: "live" },
                "junk",
              ],
            },
          ],
        },
      ],
    };
    expect(parseFeeds(answer)[0].products[0].sources).toEqual([
      { source: "kraken", state: "stale", price: null, age_s: 1.5 },
    ]);
    expect(referenceOfProduct(feeds, "NIFTY")).toBeNull(); // one source: no reference entry
  });

  it("is not a product's feed, and the product's listed venue is preferred", () => {
    expect(feedOfProduct(feeds, "BTC")?.feed.venue).toBe("deribit");
    const spot = { ...feeds[0], venue: "binance", products: [{ ...feeds[0].products[0], stale: true }] };
    const both = [spot, ...feeds];
    expect(feedOfProduct(both, "BTC")?.feed.venue).toBe("deribit"); // a fresh report first
    expect(feedOfProduct(both, "BTC", "binance")?.feed.venue).toBe("binance"); // its own venue's
    expect(productFreshness(both, "BTC", "binance")).toBe("stale");
    expect(feedOfProduct(both, "BTC", "kraken")?.feed.venue).toBe("deribit"); // not reporting: as before
    // make up with FEED_VENUES=deribit-sim,binance-sim: BTC's feed is deribit's simulator
    const sims = both.map((f) => (f.venue === "reference" ? f : { ...f, venue: `${f.venue}-sim` }));
    const fresh = sims.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: false })) }));
    expect(feedOfProduct(fresh, "BTC", "deribit")?.feed.venue).toBe("deribit-sim");
    expect(feedOfProduct(fresh, "BTC")?.feed.venue).toBe("binance-sim"); // first fresh, by name
  });

  it("makes a product stale when its reference has no live source, whatever its feed says", () => {
    const eth = referenceOfProduct(feeds, "ETH");
    expect(eth && referenceEntryStale(eth.entry)).toBe(true); // stale and down sources only
    const fresh = feeds.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: false })) }));
    expect(feedFreshness(fresh, "ETH")).toBe("fresh");
    expect(productFreshness(fresh, "ETH")).toBe("stale");
    expect(productFreshness(fresh, "BTC")).toBe("fresh"); // two of three live
    const stopped = fresh.map((f) =>
      f.venue === "reference" ? { ...f, products: f.products.map((p) => ({ ...p, stale: true })) } : f,
    );
    expect(productFreshness(stopped, "BTC")).toBe("stale"); // the reference stopped reporting it
    expect(productFreshness(fresh, "NIFTY")).toBe("fresh"); // no reference: its feed alone
  });

  it("says the access token expired, and what the connector said otherwise", () => {
    const kite = feeds.find((f) => f.venue === "kite");
    expect(kite?.detail).toBe("token_expired");
    expect(kite && feedStateLabel(kite)).toBe("Access token expired");
    expect(kite && feedDetailText(kite)).toBe("reconnecting paused until a new access token is set");
    const deribit = feeds[0];
    expect(feedStateLabel(deribit)).toBe("Live");
    expect(feedDetailText(deribit)).toBeNull();
    expect(feedDetailText({ ...deribit, detail: "rest_only" })).toBe("rest only");
    expect(feedDetailText({ ...deribit, detail: "Refused: HTTP 429" })).toBe("Refused: HTTP 429");
    const long = feedDetailText({ ...deribit, detail: "x".repeat(200) });
    expect(long).toBe(`${"x".repeat(79)}…`);
  });

  it("sums up the reference venue's products, naming the sources left out", () => {
    const reference = feeds.find((f) => f.venue === "reference");
    expect(reference && referenceSummary(reference)).toBe(
      "BTC 2/3 live (coinbase quarantined) · ETH 0/2 live (deribit stale, binance down)",
    );
    expect(referenceSummary(feeds[0])).toBeNull();
  });
});
