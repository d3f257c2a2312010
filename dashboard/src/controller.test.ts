import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlertsRest } from "./alerts/rest";
import { Auth } from "./auth";
import { Controller, FEEDS_POLL_MS, RELIST_MIN_MS, type LiveLink } from "./controller";
import { parseHash } from "./hash";
import type { Selection } from "./live";
import { Rest } from "./rest";
import { initialState, type Action, type DashState } from "./state/model";
import { reduce } from "./state/reducer";
import { Store } from "./state/store";
import { PaperRest } from "./paper/rest";
import { StrategyRest } from "./strategy/rest";
import { FEEDS, FEEDS_ANSWER, PRODUCTS, TODAY, chain } from "./test/fixtures";
import { MemoryStorage } from "./test/memoryStorage";

const NOW = Date.parse("2026-11-21T09:45:00.000Z");
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const notFound = () => json(404, { error: { code: "not_found", message: "Nothing stored" } });
// Node's, outside the DOM typings this project compiles with; not faked below.
declare const setImmediate: (fn: () => void) => void;

/** Lets the fake fetch's promises and the response bodies settle (setImmediate is not faked). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

/** One request the fake fetch received; chain reads wait for `answer`, whatever their signal says. */
interface Call {
  url: string;
  signal: AbortSignal | null;
  answer(resp: Response): void;
}

describe("Controller", () => {
  let calls: Call[];
  let store: Store<DashState, Action>;
  let controller: Controller;
  let subscribed: (Selection | null)[];
  /** The client clock of the controller (epoch ms); tests move it with the fake timers. */
  let now: number;
  /** What `GET /api/feeds` answers next. */
  let feedsAnswer: () => Response;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    calls = [];
    now = NOW;
    feedsAnswer = () => json(200, FEEDS_ANSWER);
    vi.stubGlobal(
      "fetch",
      vi.fn<typeof fetch>(
        (input, init) =>
          new Promise<Response>((resolve) => {
            const url = input as string; // Rest asks by path
            calls.push({ url, signal: init?.signal ?? null, answer: resolve });
            if (url === "/api/products") resolve(json(200, { products: PRODUCTS }));
            else if (url === "/api/feeds") resolve(feedsAnswer());
            else if (!url.startsWith("/api/data/chain/")) resolve(notFound());
          }),
      ),
    );
    const storage = new MemoryStorage();
    const session = { access: "a1", refresh: "r1", expiresAt: Date.now() + 3600_000, lifetimeMs: 3600_000 };
    storage.setItem("optionsflow.session", JSON.stringify(session));
    const auth = new Auth(storage);
    store = new Store(reduce, initialState(parseHash("")));
    store.dispatch({ type: "signedIn", username: "alice", selection: parseHash("") });
    subscribed = [];
    const link: LiveLink = { select: (s) => subscribed.push(s), stop: () => {}, tokenRefreshed: () => {} };
    let hash = "";
    controller = new Controller({
      store,
      rest: new Rest(auth, () => NOW),
      auth,
      live: {
        loadConfig: () => Promise.resolve({ config: { socket_url: null, socket_port: 8002 }, warning: null }),
        start: () => link,
      },
      url: { get: () => hash, replace: (h) => (hash = h), listen: () => () => {} },
      clock: { now: () => now, today: () => TODAY },
      alerts: new AlertsRest(auth),
      strategies: new StrategyRest(auth),
      paper: new PaperRest(auth),
    });
    await controller.start();
    await settle();
  });

  afterEach(() => {
    controller.stop();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  const chainCalls = () => calls.filter((c) => c.url.startsWith("/api/data/chain/"));
  const count = (url: string) => calls.filter((c) => c.url === url).length;
  /** Move the clock and the timers on by `ms`, then let the answers land. */
  const pass = async (ms: number) => {
    now += ms;
    vi.advanceTimersByTime(ms);
    await settle();
  };

  it("polls the feed health every few seconds", async () => {
    expect(count("/api/feeds")).toBe(1);
    expect(store.state.feeds).toEqual({ list: FEEDS, error: null });
    await pass(FEEDS_POLL_MS - 1);
    expect(count("/api/feeds")).toBe(1);
    await pass(1);
    expect(count("/api/feeds")).toBe(2);
    await pass(FEEDS_POLL_MS);
    expect(count("/api/feeds")).toBe(3);
  });

  it("keeps the last feed health when a poll fails, says why, and polls on", async () => {
    feedsAnswer = () => json(503, { error: { code: "unavailable", message: "Redis unavailable" } });
    await pass(FEEDS_POLL_MS);
    expect(store.state.feeds).toEqual({ list: FEEDS, error: "Feed status: Redis unavailable" });
    const down = FEEDS.map((f) => ({ ...f, state: "down", stale: true }));
    feedsAnswer = () => json(200, { feeds: down });
    await pass(FEEDS_POLL_MS);
    expect(store.state.feeds.error).toBeNull();
    expect(store.state.feeds.list?.map((f) => [f.venue, f.state, f.stale])).toEqual([
      ["deribit", "down", true],
      ["synthetic", "down", true],
    ]);
  });

  it("asks for the listing again when a feed streams a product it lacks, at most every RELIST_MIN_MS", async () => {
    expect(count("/api/products")).toBe(1);
    await pass(FEEDS_POLL_MS); // ETH is stale in FEEDS: nothing new streams
    expect(count("/api/products")).toBe(1);
    const eth = FEEDS.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: false })) }));
    feedsAnswer = () => json(200, { feeds: eth });
    await pass(FEEDS_POLL_MS); // 6 s after the first listing
    expect(count("/api/products")).toBe(1);
    await pass(2 * FEEDS_POLL_MS); // 12 s
    expect(count("/api/products")).toBe(2);
    await pass(FEEDS_POLL_MS); // 3 s after that listing, which still lacks ETH
    expect(count("/api/products")).toBe(2);
    await pass(3 * FEEDS_POLL_MS); // the poll RELIST_MIN_MS after it
    expect(count("/api/products")).toBe(3);
    const withEth = [...PRODUCTS, { product: "ETH", expiries: ["2026-11-27"], venue: "deribit", currency: "USD" }];
    expect(store.state.products.map((p) => p.product)).toEqual(PRODUCTS.map((p) => p.product));
    // once listed, polls ask for nothing more
    vi.mocked(fetch).mockImplementation((input, init) => {
      const url = input as string;
      calls.push({ url, signal: init?.signal ?? null, answer: () => {} });
      if (url === "/api/products") return Promise.resolve(json(200, { products: withEth }));
      return Promise.resolve(url === "/api/feeds" ? feedsAnswer() : notFound());
    });
    await pass(RELIST_MIN_MS + FEEDS_POLL_MS);
    expect(store.state.products.map((p) => p.product)).toContain("ETH");
    const listed = count("/api/products");
    await pass(5 * RELIST_MIN_MS);
    expect(count("/api/products")).toBe(listed);
  });

  it("starts on the nearest expiry and subscribes to it", () => {
    expect(store.state.selection).toMatchObject({ product: "NIFTY", expiry: "2026-11-26" });
    expect(subscribed.at(-1)).toEqual({ product: "NIFTY", expiry: "2026-11-26" });
    expect(chainCalls().map((c) => c.url)).toEqual(["/api/data/chain/NIFTY?expiry=2026-11-26"]);
  });

  it("aborts the reads of a selection left behind and never applies their late answers", async () => {
    controller.select({ expiry: "2026-12-31" });
    controller.select({ expiry: "2026-11-26" }); // back: same product and expiry as the first read
    await settle();
    const [first, second, third] = chainCalls();
    expect(third.url).toBe(first.url);
    expect([first.signal?.aborted, second.signal?.aborted, third.signal?.aborted]).toEqual([true, true, false]);

    // The first read answers late, with a chain newer than any: it must not be shown.
    first.answer(json(200, chain("2026-11-21T09:44:59.000Z")));
    await settle();
    expect(store.state.data.chain).toBeNull();

    third.answer(json(200, chain("2026-11-21T09:44:00.000Z")));
    await settle();
    expect(store.state.data.chain?.timestamp).toBe("2026-11-21T09:44:00.000Z");
  });

  it("stops: every read in flight is aborted and nothing lands afterwards", async () => {
    const [read] = chainCalls();
    controller.stop();
    expect(read.signal?.aborted).toBe(true);
    const before = store.state;
    read.answer(json(200, chain("2026-11-21T09:44:00.000Z")));
    await settle();
    vi.advanceTimersByTime(10_000); // no tick, no notice timer
    expect(store.state).toBe(before);
  });

  describe("time travel", () => {
    const AT = "2026-11-21T09:44:00.000Z"; // a minute before NOW
    const atQuery = (at: string) => `&at=${encodeURIComponent(at)}`;
    const baselineTo = (expiry: string, at: string) =>
      `/api/analytics/NIFTY/oi-change?expiry=${expiry}&to=${encodeURIComponent(at)}`;

    it("reads the chain stored at the instant and the OI baseline an hour before it", async () => {
      chainCalls()[0].answer(json(200, chain("2026-11-21T09:44:59.000Z")));
      await settle();
      controller.travelStep(-60_000); // from now (09:45:00)
      await settle();
      expect(store.state.travel).toMatchObject({ at: Date.parse(AT), pending: true });
      const read = chainCalls().at(-1);
      expect(read?.url).toBe(`/api/data/chain/NIFTY?expiry=2026-11-26${atQuery(AT)}`);
      expect(count(baselineTo("2026-11-26", AT))).toBe(1);
      read?.answer(json(200, chain("2026-11-21T09:43:58.500Z")));
      await settle();
      expect(store.state.data.chain?.timestamp).toBe("2026-11-21T09:43:58.500Z");
      expect(store.state.travel.held?.timestamp).toBe("2026-11-21T09:44:59.000Z");
    });

    it("aborts the read of an instant left behind; its late answer is never shown", async () => {
      controller.travel(Date.parse(AT));
      controller.travelStep(-300_000); // 09:39:00
      await settle();
      const [first, second] = chainCalls().slice(1);
      expect(first.url).toContain(atQuery(AT));
      expect(second.url).toContain(atQuery("2026-11-21T09:39:00.000Z"));
      expect([first.signal?.aborted, second.signal?.aborted]).toEqual([true, false]);
      first.answer(json(200, chain("2026-11-21T09:43:58.500Z")));
      await settle();
      expect(store.state.data.chain).toBeNull();
      second.answer(notFound());
      await settle();
      expect(store.state.data.chainMessage).toBe("No chain of this expiry stored at or before 2026-11-21 09:39:00 UTC");
    });

    it("keeps the instant on a switch of expiry, and Live reads the newest again", async () => {
      controller.travel(Date.parse(AT));
      controller.select({ expiry: "2026-12-31" });
      await settle();
      const urls = chainCalls().map((c) => c.url);
      expect(urls.slice(-2).sort()).toEqual([
        "/api/data/chain/NIFTY?expiry=2026-12-31",
        `/api/data/chain/NIFTY?expiry=2026-12-31${atQuery(AT)}`,
      ]);
      expect(count(baselineTo("2026-12-31", AT))).toBe(1);
      expect(store.state.travel.at).toBe(Date.parse(AT));
      controller.travel(null);
      await settle();
      expect(store.state.travel.at).toBeNull();
      expect(chainCalls().at(-1)?.url).toBe("/api/data/chain/NIFTY?expiry=2026-12-31");
      // the live baseline, read on Live only (the switch read it to the instant)
      expect(count("/api/analytics/NIFTY/oi-change?expiry=2026-12-31")).toBe(1);
    });
  });
});
