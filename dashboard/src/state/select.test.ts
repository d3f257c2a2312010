import { describe, expect, it } from "vitest";
import { parseHash } from "../hash";
import { markedAge } from "../messages";
import { parseFeeds } from "../feeds";
import {
  FEEDS,
  PRODUCTS,
  REFERENCE_FEEDS_ANSWER,
  TODAY,
  btcChain,
  chain,
  referenceTick,
  underlying,
} from "../test/fixtures";
import type { EnrichedChain, EnrichedUnderlying } from "../types";
import { initialState, type Action, type DashState } from "./model";
import { reduce } from "./reducer";
import {
  formatsOf,
  selectedProduct,
  selectionCurrency,
  selectionFreshness,
  selectionReferenceStale,
  selectionStaleness,
  selectionVenue,
} from "./select";

const T0 = "2026-11-21T09:41:00.000Z";
const run = (s: DashState, ...actions: Action[]) => actions.reduce(reduce, s);
const showing = (hash: string, ...actions: Action[]) =>
  run(
    initialState(parseHash(hash)),
    { type: "signedIn", username: "alice", selection: parseHash(hash) },
    { type: "productsListed", products: PRODUCTS, today: TODAY },
    ...actions,
  );

describe("the selection's product", () => {
  it("BTC: the listing says deribit and USD before any chain, and the chain agrees", () => {
    const s = showing("#product=BTC");
    expect(s.selection).toMatchObject({ product: "BTC", expiry: "2026-11-22" });
    expect(selectedProduct(s)?.product).toBe("BTC");
    expect([selectionVenue(s), selectionCurrency(s)]).toEqual(["deribit", "USD"]);
    expect(formatsOf(s).strike(95000)).toBe("95,000");
    const live = reduce(s, { type: "chainLive", chain: btcChain(T0, { expiry: "2026-11-22" }), now: 1 });
    expect([selectionVenue(live), selectionCurrency(live)]).toEqual(["deribit", "USD"]);
    expect(formatsOf(live).qty(1234567.5)).toBe("1,234,567.5");
  });

  it("NIFTY stays in INR with en-IN grouping; a chain naming its currency wins over the listing", () => {
    const s = showing("", { type: "chainLive", chain: chain(T0), now: 1 });
    expect(s.selection.product).toBe("NIFTY");
    expect([selectionVenue(s), selectionCurrency(s)]).toEqual(["synthetic", "INR"]);
    expect(formatsOf(s).qty(1234567)).toBe("12,34,567");
    const inUsd = reduce(s, {
      type: "chainLive",
      chain: chain("2026-11-21T09:41:01.000Z", { currency: "USD" }),
      now: 2,
    });
    expect(selectionCurrency(inUsd)).toBe("USD");
  });

  it("a listing cached before venues were listed: the chain's venue, else the synthetic market", () => {
    const bare = PRODUCTS.map(({ product, expiries }) => ({ product, expiries }));
    const s = run(
      initialState(parseHash("#product=BTC")),
      { type: "signedIn", username: "alice", selection: parseHash("#product=BTC") },
      { type: "productsListed", products: bare, today: TODAY },
    );
    expect([selectionVenue(s), selectionCurrency(s)]).toEqual([null, "INR"]);
    const live = reduce(s, { type: "chainLive", chain: btcChain(T0, { expiry: "2026-11-22" }), now: 1 });
    expect([selectionVenue(live), selectionCurrency(live)]).toEqual(["deribit", "USD"]);
    const nifty = reduce(live, {
      type: "selected",
      requested: { ...live.selection, product: "NIFTY", expiry: null },
      today: TODAY,
    });
    expect(selectionVenue(reduce(nifty, { type: "chainLive", chain: chain(T0), now: 2 }))).toBe("synthetic");
  });

  it("is stale when its feed says so", () => {
    const btc = showing("#product=BTC");
    expect(selectionFreshness(btc)).toBe("unknown");
    expect(selectionFreshness(reduce(btc, { type: "feedsLoaded", feeds: FEEDS }))).toBe("fresh");
    const stale = FEEDS.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: true })) }));
    expect(selectionFreshness(reduce(btc, { type: "feedsLoaded", feeds: stale }))).toBe("stale");
    const gone = FEEDS.filter((f) => f.venue !== "deribit");
    expect(selectionFreshness(reduce(btc, { type: "feedsLoaded", feeds: gone }))).toBe("stale");
  });
});

describe("the one staleness shown", () => {
  // What a REST answer or a Socket.IO update carries when its data is older than its product's limit.
  const old = { data_age_stale: true, data_age_s: 132.4 };
  const oldChain = (ts: string) => chain(ts, old as Partial<EnrichedChain>);
  const oldTick = (price: number) => ({ ...underlying(price), ...old }) as EnrichedUnderlying;
  const nifty = () => showing("#product=NIFTY&expiry=2026-11-26");

  it("reads the server's mark, and only a true one", () => {
    expect(markedAge(oldChain(T0))).toBe(132.4);
    expect(markedAge(chain(T0))).toBeNull();
    expect(markedAge({ data_age_stale: false, data_age_s: 3 })).toBeNull();
    expect(markedAge({ data_age_stale: true })).toBeNaN();
  });

  it("a REST chain marked old is stale until a fresh chain replaces it", () => {
    const s = nifty();
    expect(selectionStaleness(s)).toBeNull();
    const loaded = reduce(s, { type: "chainLoaded", gen: s.data.gen, chain: oldChain(T0), now: 1_000 });
    expect(loaded.data.stale).toBe(false); // it just arrived: not silent
    expect(selectionStaleness(loaded)).toEqual({
      reason: "age",
      text: "The data is 132.4 s old, past its product's limit",
    });
    const live = reduce(loaded, { type: "chainLive", chain: chain("2026-11-21T09:41:01.000Z"), now: 1_500 });
    expect(live.data.chainMarkedAge).toBeNull();
    expect(selectionStaleness(live)).toBeNull();
  });

  it("a Socket.IO tick marked old makes it stale too, and the next fresh one clears it", () => {
    const s = reduce(nifty(), { type: "chainLive", chain: chain(T0), now: 1_000 });
    const marked = reduce(s, { type: "underlyingLive", underlying: oldTick(24_020), now: 1_200 });
    expect(selectionStaleness(marked)?.reason).toBe("age");
    const fresh = reduce(marked, { type: "underlyingLive", underlying: underlying(24_030), now: 1_400 });
    expect(selectionStaleness(fresh)).toBeNull();
  });

  it("one reason at a time: the feed's health first, then the data's age, then silence", () => {
    const s = reduce(nifty(), { type: "chainLive", chain: oldChain(T0), now: 1_000 });
    const silent = reduce(s, { type: "tick", now: 7_000 }); // 6 s without an update
    expect(silent.data.stale).toBe(true);
    expect(selectionStaleness(silent)?.reason).toBe("age"); // the age says more than the silence
    const feedStale = FEEDS.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: true })) }));
    expect(selectionStaleness(reduce(silent, { type: "feedsLoaded", feeds: feedStale }))).toEqual({
      reason: "feed",
      text: "Its feed reports no recent data",
    });
    const quiet = reduce(reduce(nifty(), { type: "chainLive", chain: chain(T0), now: 1_000 }), {
      type: "tick",
      now: 7_000,
    });
    expect(selectionStaleness(quiet)).toEqual({ reason: "silent", text: "No update for 5 s" });
    expect(selectionStaleness(reduce(quiet, { type: "tick", now: 4_000 }))).toBeNull();
  });
});

describe("a reference price", () => {
  const btc = () => showing("#product=BTC&expiry=2026-11-27", { type: "chainLive", chain: btcChain(T0), now: 1_000 });
  const withSources = (states: string[]) =>
    referenceTick({
      sources: states.map((state, i) => ({ source: `s${i}`, price: 97_000, age_ms: 100, state })),
    } as never);

  it("makes the product stale, for its own reason, once no source is live", () => {
    const s = reduce(btc(), { type: "underlyingLive", underlying: referenceTick(), now: 1_100 });
    expect(selectionReferenceStale(s)).toBe(false); // two of three live
    expect(selectionStaleness(s)).toBeNull();
    const none = reduce(s, {
      type: "underlyingLive",
      underlying: withSources(["stale", "quarantined", "down"]),
      now: 1_200,
    });
    expect(selectionReferenceStale(none)).toBe(true);
    expect(selectionStaleness(none)).toEqual({
      reason: "reference",
      text: "No live source for its reference price: the last good value is shown",
    });
    const back = reduce(none, { type: "underlyingLive", underlying: withSources(["stale", "live"]), now: 1_300 });
    expect(selectionStaleness(back)).toBeNull();
    // A tick without sources (one feed) says nothing about a reference.
    expect(
      selectionReferenceStale(reduce(s, { type: "underlyingLive", underlying: underlying(97_000, "BTC"), now: 1_300 })),
    ).toBe(false);
  });

  it("is stale when the reference feed reports no live source; the product's feed is named first", () => {
    const feeds = parseFeeds(REFERENCE_FEEDS_ANSWER);
    const eth = { product: "ETH", expiries: ["2026-11-27"], venue: "deribit", currency: "USD" };
    const hash = parseHash("#product=ETH&expiry=2026-11-27");
    const s = run(
      initialState(hash),
      { type: "signedIn", username: "alice", selection: hash },
      { type: "productsListed", products: [...PRODUCTS, eth], today: TODAY },
      { type: "feedsLoaded", feeds },
    );
    expect(s.selection.product).toBe("ETH");
    expect(selectionStaleness(s)?.reason).toBe("feed"); // deribit reports ETH stale
    const fresh = feeds.map((f) =>
      f.venue === "deribit" ? { ...f, products: f.products.map((p) => ({ ...p, stale: false })) } : f,
    );
    const later = reduce(s, { type: "feedsLoaded", feeds: fresh });
    expect(selectionFreshness(later)).toBe("stale");
    expect(selectionStaleness(later)?.reason).toBe("reference");
    const b = reduce(btc(), { type: "feedsLoaded", feeds: fresh });
    expect([selectionFreshness(b), selectionStaleness(b)]).toEqual(["fresh", null]);
  });
});
