import { describe, expect, it } from "vitest";
import { parseHash } from "../hash";
import { FEEDS, PRODUCTS, TODAY, btcChain, chain } from "../test/fixtures";
import { initialState, type Action, type DashState } from "./model";
import { reduce } from "./reducer";
import { formatsOf, selectedProduct, selectionCurrency, selectionFreshness, selectionVenue } from "./select";

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
