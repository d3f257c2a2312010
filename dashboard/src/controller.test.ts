import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Auth } from "./auth";
import { Controller, type LiveLink } from "./controller";
import { parseHash } from "./hash";
import type { Selection } from "./live";
import { Rest } from "./rest";
import { initialState, type Action, type DashState } from "./state/model";
import { reduce } from "./state/reducer";
import { Store } from "./state/store";
import { PRODUCTS, TODAY, chain } from "./test/fixtures";
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

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    calls = [];
    vi.stubGlobal(
      "fetch",
      vi.fn<typeof fetch>(
        (input, init) =>
          new Promise<Response>((resolve) => {
            const url = input as string; // Rest asks by path
            calls.push({ url, signal: init?.signal ?? null, answer: resolve });
            if (url === "/api/products") resolve(json(200, { products: PRODUCTS }));
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
      clock: { now: () => NOW, today: () => TODAY },
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
});
