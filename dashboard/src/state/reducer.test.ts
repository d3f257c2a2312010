import { describe, expect, it } from "vitest";
import { parseHash } from "../hash";
import { FEEDS, PRODUCTS, TODAY, chain, underlying } from "../test/fixtures";
import { STALE_AFTER_MS, initialState, type Action, type DashState } from "./model";
import { reduce } from "./reducer";

const run = (s: DashState, ...actions: Action[]) => actions.reduce(reduce, s);
const signedIn = (hash = "") =>
  run(initialState(parseHash("")), { type: "signedIn", username: "alice", selection: parseHash(hash) });
/** Signed in, listed, showing NIFTY 2026-11-26 (selection generation `data.gen`). */
const listed = () => run(signedIn(), { type: "productsListed", products: PRODUCTS, today: TODAY });
const T0 = "2026-11-21T09:41:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

describe("selection", () => {
  it("the first listing picks a valid product and the nearest expiry not passed, and starts loading it", () => {
    const before = signedIn("#product=NOPE&interval=5m");
    const s = reduce(before, { type: "productsListed", products: PRODUCTS, today: TODAY });
    expect(s.selection).toEqual({
      page: "market",
      product: "NIFTY",
      expiry: "2026-11-26",
      interval: "5m",
      strikes: null,
    });
    expect(s.data.gen).toBe(before.data.gen + 1);
    expect(s.candles.gen).toBe(before.candles.gen + 1);
    expect(s.started).toBe(true);
  });

  it("the first listing starts the selection even when the URL already named a valid one", () => {
    const before = signedIn("#product=NIFTY&expiry=2026-12-31");
    const s = reduce(before, { type: "productsListed", products: PRODUCTS, today: TODAY });
    expect(s.selection.expiry).toBe("2026-12-31");
    expect(s.data.gen).toBe(before.data.gen + 1);
    // a later listing with the same selection starts nothing new
    const again = reduce(s, { type: "productsListed", products: PRODUCTS, today: TODAY });
    expect(again.data.gen).toBe(s.data.gen);
  });

  it("a new product drops the old data and takes its nearest expiry", () => {
    const shown = run(listed(), { type: "chainLive", chain: chain(T0), now: 1_000 });
    const s = reduce(shown, {
      type: "selected",
      requested: { ...shown.selection, product: "BANKNIFTY", expiry: null },
      today: TODAY,
    });
    expect(s.selection).toMatchObject({ product: "BANKNIFTY", expiry: "2026-11-25" });
    expect(s.data).toMatchObject({ gen: shown.data.gen + 1, chain: null, liveChainSeen: false, history: [] });
    expect(s.candles).toEqual({ gen: shown.candles.gen + 1, bars: null, note: null });
  });

  it("a new interval reloads only the candles; a new strike window reloads nothing", () => {
    const s0 = listed();
    const s1 = reduce(s0, { type: "selected", requested: { ...s0.selection, interval: "15m" }, today: TODAY });
    expect([s1.data.gen, s1.candles.gen]).toEqual([s0.data.gen, s0.candles.gen + 1]);
    const s2 = reduce(s1, { type: "selected", requested: { ...s1.selection, strikes: 10 }, today: TODAY });
    expect([s2.data.gen, s2.candles.gen, s2.selection.strikes]).toEqual([s1.data.gen, s1.candles.gen, 10]);
  });
});

describe("live updates", () => {
  it("are applied in order; one a little older than the one shown is ignored", () => {
    const s0 = listed();
    const s1 = run(s0, { type: "chainLive", chain: chain(at(0)), now: 1_000 });
    const s2 = reduce(s1, { type: "chainLive", chain: chain(at(2)), now: 3_000 });
    expect(s2.data.chain?.timestamp).toBe(at(2));
    expect(s2.data.lastUpdateAt).toBe(3_000);
    const late = reduce(s2, { type: "chainLive", chain: chain(at(1)), now: 4_000 });
    expect(late).toBe(s2);
  });

  it("take a much older chain as a restarted feed (a replay)", () => {
    const s = run(
      listed(),
      { type: "chainLive", chain: chain(at(600)), now: 1_000 },
      { type: "chainLive", chain: chain(at(0)), now: 2_000 },
    );
    expect(s.data.chain?.timestamp).toBe(at(0));
  });

  it("ignore another expiry or product", () => {
    const s0 = listed();
    expect(reduce(s0, { type: "chainLive", chain: chain(T0, { expiry: "2026-12-31" }), now: 1 })).toBe(s0);
    expect(reduce(s0, { type: "underlyingLive", underlying: underlying(1, "BANKNIFTY"), now: 1 })).toBe(s0);
  });

  it("win over REST answers that arrive after them", () => {
    const s0 = listed();
    const gen = s0.data.gen;
    const s1 = run(
      s0,
      { type: "chainLive", chain: chain(at(5)), now: 1_000 },
      { type: "underlyingLive", underlying: underlying(24_020), now: 1_000 },
      { type: "chainLoaded", gen, chain: chain(at(9)), now: 2_000 },
      { type: "underlyingLoaded", gen, underlying: underlying(23_000) },
      { type: "chainFailed", gen, message: "Chain: down" },
    );
    expect(s1.data.chain?.timestamp).toBe(at(5));
    expect(s1.data.underlying?.price).toBe(24_020);
    expect(s1.data.chainMessage).toBeNull();
  });

  it("keep one history point per minute, after the loaded history", () => {
    const s0 = listed();
    const s1 = run(
      s0,
      { type: "chainLive", chain: chain(at(0), { pcr_oi: 1.1 }), now: 1 },
      { type: "chainLive", chain: chain(at(30), { pcr_oi: 1.2 }), now: 2 },
      { type: "chainLive", chain: chain(at(60), { pcr_oi: 1.3 }), now: 3 },
    );
    expect(s1.data.history.map((p) => p.pcr_oi)).toEqual([1.2, 1.3]);
    const t0 = Date.parse(T0);
    const earlier = { t: t0 - 60_000, pcr_oi: 0.9, pcr_volume: null, max_pain: null };
    const s2 = reduce(s1, { type: "historyLoaded", gen: s0.data.gen, points: [earlier, { ...earlier, t: t0 }] });
    expect(s2.data.history.map((p) => p.pcr_oi)).toEqual([0.9, 0.9, 1.3]);
    expect(s2.data.historyLoaded).toBe(true);
  });

  it("measure OI change from the route's baseline, else from the first chain once the route answered", () => {
    const s0 = listed();
    const gen = s0.data.gen;
    const s1 = reduce(s0, { type: "chainLive", chain: chain(at(0)), now: 1 });
    expect(s1.data.baseline).toBeNull(); // the route may still answer
    const s2 = reduce(s1, { type: "baselineLoaded", gen, baseline: null });
    expect(s2.data.baseline?.since).toBe(Date.parse(at(0)));
    expect(s2.data.baseline?.baseline.get(24050)).toEqual({ call: 100, put: 200 });
    const hourAgo = { baseline: new Map([[24000, { call: 50, put: 60 }]]), since: 7 };
    expect(reduce(s1, { type: "baselineLoaded", gen, baseline: hourAgo }).data.baseline).toBe(hourAgo);
  });

  it("turn stale after STALE_AFTER_MS without an update, fresh again with the next", () => {
    const s1 = run(listed(), { type: "chainLive", chain: chain(at(0)), now: 10_000 });
    expect(reduce(s1, { type: "tick", now: 10_000 + STALE_AFTER_MS }).data.stale).toBe(false);
    const s2 = reduce(s1, { type: "tick", now: 10_001 + STALE_AFTER_MS });
    expect(s2.data.stale).toBe(true);
    expect(s2.now).toBe(10_001 + STALE_AFTER_MS);
    const s3 = reduce(s2, { type: "underlyingLive", underlying: underlying(24_001), now: 16_000 });
    expect(s3.data.stale).toBe(false);
  });
});

describe("feed health", () => {
  it("keeps the last answer; a failed poll adds its reason, the next answer clears it", () => {
    const s0 = listed();
    expect(s0.feeds).toEqual({ list: null, error: null });
    const s1 = reduce(s0, { type: "feedsLoaded", feeds: FEEDS });
    expect(s1.feeds).toEqual({ list: FEEDS, error: null });
    const s2 = reduce(s1, { type: "feedsFailed", message: "Feed status: down" });
    expect(s2.feeds).toEqual({ list: FEEDS, error: "Feed status: down" });
    expect(reduce(s2, { type: "feedsFailed", message: "Feed status: down" })).toBe(s2); // nothing to redraw
    expect(reduce(s2, { type: "feedsLoaded", feeds: [] }).feeds).toEqual({ list: [], error: null });
    // nothing else moves with it
    expect(s2.selection).toBe(s0.selection);
    expect(s2.data).toBe(s0.data);
  });

  it("is forgotten on logout", () => {
    const s = run(listed(), { type: "feedsLoaded", feeds: FEEDS });
    expect(reduce(s, { type: "signedOut", reason: null }).feeds).toEqual({ list: null, error: null });
  });
});

describe("answers of a selection left behind", () => {
  it("are dropped, whatever they carry", () => {
    const s0 = listed();
    const old = s0.data.gen;
    const s1 = reduce(s0, { type: "selected", requested: { ...s0.selection, expiry: "2026-12-31" }, today: TODAY });
    const late: Action[] = [
      { type: "chainLoaded", gen: old, chain: chain(T0, { expiry: "2026-12-31" }), now: 1 },
      { type: "chainFailed", gen: old, message: "Chain: down" },
      { type: "underlyingLoaded", gen: old, underlying: underlying(1) },
      { type: "baselineLoaded", gen: old, baseline: null },
      { type: "historyLoaded", gen: old, points: [] },
      { type: "candlesLoaded", gen: s0.candles.gen, bars: [] },
    ];
    for (const action of late) expect(reduce(s1, action)).toBe(s1);
  });
});

describe("session", () => {
  it("logging out clears everything but the selection the URL holds", () => {
    const s0 = listed();
    const busy = run(
      s0,
      { type: "chainLive", chain: chain(T0), now: 1 },
      { type: "connection", status: "live", detail: "" },
      { type: "noticeShown", id: 1, text: "hello" },
    );
    const out = reduce(busy, { type: "signedOut", reason: "Session ended: expired" });
    expect(out).toMatchObject({
      session: null,
      signedOutReason: "Session ended: expired",
      products: [],
      notice: null,
      started: false,
      connection: { status: "connecting", detail: "" },
      selection: busy.selection,
    });
    expect(out.data).toMatchObject({ chain: null, underlying: null, history: [], lastUpdateAt: null });
    // an answer asked for before the logout cannot land after the next sign-in
    const back = reduce(out, { type: "signedIn", username: "bob", selection: busy.selection });
    expect(back.session).toEqual({ username: "bob" });
    expect(back.data.gen).toBeGreaterThan(s0.data.gen);
    expect(reduce(back, { type: "chainLoaded", gen: s0.data.gen, chain: chain(T0), now: 2 })).toBe(back);
  });

  it("a notice is hidden by its own timer only", () => {
    const s = run(listed(), { type: "noticeShown", id: 1, text: "a" }, { type: "noticeShown", id: 2, text: "b" });
    expect(reduce(s, { type: "noticeHidden", id: 1 }).notice).toEqual({ id: 2, text: "b" });
    expect(reduce(s, { type: "noticeHidden", id: 2 }).notice).toBeNull();
  });
});

describe("term structure", () => {
  const points = [
    { expiry: "2026-11-26", days: 5.25, atm_strike: 24050, atm_iv: 0.1498 },
    { expiry: "2026-12-31", days: 40.2, atm_strike: 24100, atm_iv: 0.1612 },
  ];

  it("is read again on a new product, not on a new expiry or interval", () => {
    const s0 = listed();
    const s1 = reduce(s0, { type: "selected", requested: { ...s0.selection, expiry: "2026-12-31" }, today: TODAY });
    const s2 = reduce(s1, { type: "selected", requested: { ...s1.selection, interval: "15m" }, today: TODAY });
    expect([s1.term.gen, s2.term.gen]).toEqual([s0.term.gen, s0.term.gen]);
    const s3 = reduce(s2, {
      type: "selected",
      requested: { ...s2.selection, product: "BANKNIFTY", expiry: null },
      today: TODAY,
    });
    expect(s3.term).toEqual({ gen: s2.term.gen + 1, points: null, note: null, surface: null, surfaceNote: null });
  });

  it("takes the answer of its own generation only, and says when there is nothing", () => {
    const s0 = listed();
    const stale = reduce(s0, { type: "termLoaded", gen: s0.term.gen - 1, points });
    expect(stale).toBe(s0);
    const s1 = reduce(s0, { type: "termLoaded", gen: s0.term.gen, points });
    expect(s1.term).toMatchObject({ gen: s0.term.gen, points, note: null });
    const empty = reduce(s0, { type: "termLoaded", gen: s0.term.gen, points: [] });
    expect(empty.term.note).toBe("No live expiry yet");
    const failed = reduce(s1, { type: "termFailed", gen: s0.term.gen, note: "No chain stored yet" });
    expect(failed.term).toMatchObject({ gen: s0.term.gen, points: [], note: "No chain stored yet" });
  });
});

describe("IV surface", () => {
  const surface = {
    product: "NIFTY",
    timestamp: T0,
    spot: 24010,
    expiries: ["2026-11-26"],
    strikes: [24000, 24050],
    iv: [[0.151, 0.149]],
  };

  it("is kept with the term structure of its generation, or says why not", () => {
    const s0 = listed();
    expect(reduce(s0, { type: "surfaceLoaded", gen: s0.term.gen - 1, surface })).toBe(s0);
    const s1 = reduce(s0, { type: "surfaceLoaded", gen: s0.term.gen, surface });
    expect([s1.term.surface, s1.term.surfaceNote]).toEqual([surface, null]);
    const none = reduce(s0, { type: "surfaceLoaded", gen: s0.term.gen, surface: { ...surface, expiries: [], iv: [] } });
    expect(none.term.surfaceNote).toBe("No live expiry yet");
    const failed = reduce(s1, { type: "surfaceFailed", gen: s0.term.gen, note: "No chain stored yet" });
    expect([failed.term.surface, failed.term.surfaceNote]).toEqual([surface, "No chain stored yet"]);
  });
});
