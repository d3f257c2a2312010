import { describe, expect, it } from "vitest";
import { parseHash } from "../hash";
import { FEEDS, PRODUCTS, TODAY, chain } from "../test/fixtures";
import { LIVE, initialState, type Action, type DashState } from "./model";
import { reduce } from "./reducer";
import { selectionStaleness } from "./select";

const run = (s: DashState, ...actions: Action[]) => actions.reduce(reduce, s);
/** Signed in and listed: NIFTY 2026-11-26 selected. */
const listed = () =>
  run(
    initialState(parseHash("")),
    { type: "signedIn", username: "alice", selection: parseHash("") },
    { type: "productsListed", products: PRODUCTS, today: TODAY },
  );
const iso = (ms: number) => new Date(ms).toISOString();
const NOW = Date.parse("2026-11-21T09:45:00.000Z");
/** The instant chosen in most tests: a minute before NOW. */
const AT = NOW - 60_000;
const BASELINE = { baseline: new Map([[24000, { call: 90, put: 180 }]]), since: AT - 3_600_000 };

/** Listed and showing a live chain of 09:44:59 (at 1 s before NOW on the client clock). */
const showingLive = () =>
  run(listed(), { type: "chainLive", chain: chain(iso(NOW - 1_000), { seq: 9 }), now: NOW - 1_000 });
const travelled = (at = AT) => run(showingLive(), { type: "travelTo", at, now: NOW });
const stored = (ts: number, extra = {}) => chain(iso(ts), { seq: 3, ...extra });

describe("choosing an instant", () => {
  it("hides the live chain, keeps it for Live, and reads the one stored at the instant", () => {
    const before = showingLive();
    const s = reduce(before, { type: "travelTo", at: AT, now: NOW });
    expect(s.travel).toEqual({ at: AT, pending: true, held: before.data.chain });
    expect(s.data).toMatchObject({
      gen: before.data.gen, // the same selection: its history and candles stay
      chain: null,
      chainMessage: "Reading the chain as stored at 2026-11-21 09:44:00 UTC…",
      baseline: null,
      baselinePending: true,
    });
    expect(s.data.history).toBe(before.data.history);
  });

  it("takes whole seconds, never after now, and the same instant again changes nothing", () => {
    const s = run(showingLive(), { type: "travelTo", at: AT + 1_750, now: NOW });
    expect(s.travel.at).toBe(AT + 1_000);
    expect(reduce(s, { type: "travelTo", at: AT + 1_999, now: NOW })).toBe(s);
    const future = run(showingLive(), { type: "travelTo", at: NOW + 3_600_000, now: NOW + 400 });
    expect(future.travel.at).toBe(NOW);
  });

  it("shows the stored chain of its own instant and selection only", () => {
    const s0 = travelled();
    const gen = s0.data.gen;
    expect(reduce(s0, { type: "chainAtLoaded", gen, at: AT - 60_000, chain: stored(AT - 65_000) })).toBe(s0);
    expect(reduce(s0, { type: "chainAtLoaded", gen: gen - 1, at: AT, chain: stored(AT - 500) })).toBe(s0);
    const other = stored(AT - 500, { expiry: "2026-12-31" });
    expect(reduce(s0, { type: "chainAtLoaded", gen, at: AT, chain: other })).toBe(s0);
    const s1 = reduce(s0, { type: "chainAtLoaded", gen, at: AT, chain: stored(AT - 500) });
    expect(s1.data.chain?.timestamp).toBe("2026-11-21T09:43:59.500Z");
    expect(s1.data.chainMessage).toBeNull();
    expect(s1.travel.pending).toBe(false);
  });

  it("says why there is no chain at the instant", () => {
    const s0 = travelled();
    const message = "No chain of this expiry stored at or before 2026-11-21 09:44:00 UTC";
    const s = reduce(s0, { type: "chainAtFailed", gen: s0.data.gen, at: AT, message });
    expect(s.data).toMatchObject({ chain: null, chainMessage: message });
    expect(s.travel.pending).toBe(false);
    expect(reduce(s0, { type: "chainAtFailed", gen: s0.data.gen, at: AT - 1_000, message })).toBe(s0);
  });

  it("takes the OI baseline measured to its instant only", () => {
    const s0 = travelled();
    const gen = s0.data.gen;
    expect(reduce(s0, { type: "baselineLoaded", gen, baseline: BASELINE })).toBe(s0); // a live read
    expect(reduce(s0, { type: "baselineLoaded", gen, baseline: BASELINE, at: AT - 60_000 })).toBe(s0);
    const s = reduce(s0, { type: "baselineLoaded", gen, baseline: BASELINE, at: AT });
    expect(s.data).toMatchObject({ baseline: BASELINE, baselinePending: false });
  });
});

describe("live data while travelling", () => {
  it("is received and held for Live, not shown; a late one is still ignored", () => {
    const s0 = run(travelled(), {
      type: "chainAtLoaded",
      gen: listed().data.gen,
      at: AT,
      chain: stored(AT - 500),
    });
    const newer = chain(iso(NOW + 1_000), { seq: 10 });
    const s1 = reduce(s0, { type: "chainLive", chain: newer, now: NOW + 1_000 });
    expect(s1.data.chain).toBe(s0.data.chain); // the stored one stays
    expect(s1.travel.held).toBe(newer);
    expect(s1.data.lastUpdateAt).toBe(NOW + 1_000); // the feed is alive
    expect(s1.data.history.length).toBe(s0.data.history.length + 1); // its minute's PCR point
    const late = chain(iso(NOW + 500), { seq: 11 });
    expect(reduce(s1, { type: "chainLive", chain: late, now: NOW + 2_000 }).travel.held).toBe(newer);
  });

  it("a REST read of the newest chain is held too, unless a live one came first", () => {
    const fresh = run(listed(), { type: "travelTo", at: AT, now: NOW });
    const rest = chain(iso(NOW - 2_000));
    const s = reduce(fresh, { type: "chainLoaded", gen: fresh.data.gen, chain: rest, now: NOW });
    expect([s.data.chain, s.travel.held]).toEqual([null, rest]);
    const held = travelled();
    expect(reduce(held, { type: "chainLoaded", gen: held.data.gen, chain: rest, now: NOW }).travel.held).toBe(
      held.travel.held,
    );
  });

  it("a failed read of the newest chain leaves the instant's message alone", () => {
    const s0 = travelled();
    expect(reduce(s0, { type: "chainFailed", gen: s0.data.gen, message: "Chain: unavailable" })).toBe(s0);
  });
});

describe("Live", () => {
  it("shows the newest chain received at once and asks for the live baseline", () => {
    const s0 = travelled();
    const newer = chain(iso(NOW + 3_000), { seq: 12 });
    const s1 = run(
      s0,
      { type: "chainAtLoaded", gen: s0.data.gen, at: AT, chain: stored(AT - 500) },
      { type: "chainLive", chain: newer, now: NOW + 3_000 },
      { type: "travelLive" },
    );
    expect(s1.travel).toEqual(LIVE);
    expect(s1.data).toMatchObject({ chain: newer, chainMessage: null, baseline: null, baselinePending: true });
    expect(reduce(s1, { type: "travelLive" })).toBe(s1);
    // the next live chain is shown again
    const next = chain(iso(NOW + 4_000), { seq: 13 });
    expect(reduce(s1, { type: "chainLive", chain: next, now: NOW + 4_000 }).data.chain).toBe(next);
  });

  it("without any chain known waits for the newest", () => {
    const s = run(listed(), { type: "travelTo", at: AT, now: NOW }, { type: "travelLive" });
    expect(s.data).toMatchObject({ chain: null, chainMessage: "Waiting for the newest chain…" });
  });

  it("a chain read for the instant after Live is dropped", () => {
    const s0 = travelled();
    const s1 = reduce(s0, { type: "travelLive" });
    expect(reduce(s1, { type: "chainAtLoaded", gen: s0.data.gen, at: AT, chain: stored(AT - 500) })).toBe(s1);
  });
});

describe("switching product or expiry", () => {
  it("keeps the instant: the new selection's chain at it is read, nothing held for it yet", () => {
    const s0 = travelled();
    const s1 = reduce(s0, { type: "selected", requested: { ...s0.selection, expiry: "2026-12-31" }, today: TODAY });
    expect(s1.data.gen).toBe(s0.data.gen + 1);
    expect(s1.travel).toEqual({ at: AT, pending: true, held: null });
    expect(s1.data.chainMessage).toBe("Reading the chain as stored at 2026-11-21 09:44:00 UTC…");
    const s2 = reduce(s1, { type: "selected", requested: { ...s1.selection, strikes: 10 }, today: TODAY });
    expect(s2.travel).toBe(s1.travel); // the strike window is no switch
    const late = stored(AT - 500); // the old expiry's answer
    expect(reduce(s1, { type: "chainAtLoaded", gen: s0.data.gen, at: AT, chain: late })).toBe(s1);
  });

  it("signing out forgets the instant", () => {
    const s = reduce(travelled(), { type: "signedOut", reason: null });
    expect(s.travel).toEqual(LIVE);
  });
});

describe("staleness while travelling", () => {
  it("only the stored chain's own age at the instant counts, not the live feed's", () => {
    const staleFeeds = FEEDS.map((f) => ({ ...f, products: f.products.map((p) => ({ ...p, stale: true })) }));
    const s0 = run(travelled(), { type: "feedsLoaded", feeds: staleFeeds }, { type: "tick", now: NOW + 60_000 });
    const shown = run(s0, { type: "chainAtLoaded", gen: s0.data.gen, at: AT, chain: stored(AT - 500) });
    expect(selectionStaleness(shown)).toBeNull();
    const old = stored(AT - 120_000, { data_age_stale: true, data_age_s: 120 });
    const marked = run(s0, { type: "chainAtLoaded", gen: s0.data.gen, at: AT, chain: old });
    expect(selectionStaleness(marked)).toEqual({
      reason: "age",
      text: "At that instant the stored chain was 120.0 s old, past its product's limit",
    });
    expect(selectionStaleness(reduce(marked, { type: "travelLive" }))?.reason).toBe("feed");
  });
});
