import { describe, expect, it } from "vitest";
import { parseHash } from "../hash";
import { parseEvaluation, parseSaved, type Evaluation, type SavedStrategy } from "../strategy/model";
import { PRODUCTS, TODAY } from "../test/fixtures";
import { CONDOR_LEGS, condorAnswer, savedDoc } from "../test/strategy";
import { initialState, type Action, type DashState } from "./model";
import { reduce } from "./reducer";
import { resultState, type StrategyAction } from "./strategy";

const signedIn = (): DashState =>
  reduce(initialState(parseHash("#page=strategy")), {
    type: "signedIn",
    username: "alice",
    selection: parseHash("#page=strategy"),
  });
const run = (s: DashState, ...actions: (Action | StrategyAction)[]): DashState => actions.reduce(reduce, s);
const call = (strike: number, side: "BUY" | "SELL" = "BUY", product = "NIFTY"): StrategyAction => ({
  type: "strategyLegAdded",
  leg: { product, expiry: "2026-11-26", strike, option_type: "CALL", side },
});
const RESULT: Evaluation = parseEvaluation(condorAnswer())!;
const saved = (id: string, name: string): SavedStrategy => parseSaved(savedDoc(id, name))!;

describe("the builder's legs", () => {
  it("adds legs with the quantity set, each with a key of its own, and bumps the version", () => {
    const s = run(signedIn(), { type: "strategyQuantitySet", quantity: "75" }, call(24000), call(24100, "SELL"), {
      type: "strategyLegAdded",
      leg: { product: "NIFTY", expiry: null, strike: null, option_type: null, side: "SELL" },
    });
    const st = s.strategy;
    expect(st.legs.map((l) => [l.key, l.strike, l.side, l.quantity, l.price])).toEqual([
      [1, 24000, "BUY", "75", ""],
      [2, 24100, "SELL", "75", ""],
      [3, null, "SELL", "75", ""],
    ]);
    expect(st.version).toBe(3);
    expect(resultState(st)).toBe("pending");
  });

  it("starts a new strategy when a leg of another product is added, and says so", () => {
    const s = run(signedIn(), call(24000), call(24100), call(95000, "BUY", "BTC"));
    expect(s.strategy.legs.map((l) => [l.product, l.strike])).toEqual([["BTC", 95000]]);
    expect(s.strategy.message).toBe("A new BTC strategy: the NIFTY legs were cleared");
    expect(run(s, call(96000, "SELL", "BTC")).strategy.message).toBeNull();
  });

  it("holds at most 12 legs", () => {
    const twelve = run(signedIn(), ...Array.from({ length: 12 }, (_, i) => call(24000 + i * 50)));
    const s = run(twelve, call(25000));
    expect(s.strategy.legs).toHaveLength(12);
    expect(s.strategy.version).toBe(twelve.strategy.version);
    expect(s.strategy.message).toBe("At most 12 legs");
  });

  it("changes and removes a leg by key; an edit that changes nothing is no change", () => {
    const s0 = run(signedIn(), call(24000), call(24100));
    const s1 = run(s0, { type: "strategyLegChanged", key: 2, patch: { quantity: "150", side: "SELL" } });
    expect(s1.strategy.legs[1]).toMatchObject({ key: 2, quantity: "150", side: "SELL" });
    expect(s1.strategy.version).toBe(s0.strategy.version + 1);
    expect(run(s1, { type: "strategyLegChanged", key: 2, patch: { quantity: "150" } })).toBe(s1);
    expect(run(s1, { type: "strategyLegChanged", key: 9, patch: { quantity: "1" } })).toBe(s1);
    const s2 = run(s1, { type: "strategyLegRemoved", key: 1 });
    expect(s2.strategy.legs.map((l) => l.key)).toEqual([2]);
    expect(run(s2, { type: "strategyLegRemoved", key: 1 })).toBe(s2);
  });

  it("forgets the result and every refusal when the last leg goes", () => {
    let s = run(signedIn(), call(24000), { type: "strategyEvalAsked", seq: 1, version: 1 });
    s = run(s, { type: "strategyEvaluated", gen: s.strategy.gen, seq: 1, version: 1, result: RESULT });
    expect(resultState(s.strategy)).toBe("ready");
    const cleared = run(s, { type: "strategyCleared" });
    expect([cleared.strategy.legs, cleared.strategy.result, cleared.strategy.pending]).toEqual([[], null, false]);
    expect(resultState(cleared.strategy)).toBe("empty");
  });
});

describe("the strategy page", () => {
  it("is a page of the same selection: switching keeps the data, the legs and the hash's other parts", () => {
    const s0 = run(signedIn(), { type: "productsListed", products: PRODUCTS, today: TODAY }, call(24000));
    const market = run(s0, { type: "selected", requested: { ...s0.selection, page: "market" }, today: TODAY });
    expect(market.selection).toEqual({ ...s0.selection, page: "market" });
    expect([market.data.gen, market.strategy]).toEqual([s0.data.gen, s0.strategy]);
  });
});

describe("evaluations", () => {
  const asked = (s: DashState, seq: number) => run(s, { type: "strategyEvalAsked", seq, version: s.strategy.version });

  it("applies only the newest evaluation asked, and only for the legs as they are", () => {
    const s0 = asked(run(signedIn(), call(24000)), 1);
    const gen = s0.strategy.gen;
    const s1 = asked(s0, 2);
    // The first request's answer arrives after the second was asked: dropped.
    expect(run(s1, { type: "strategyEvaluated", gen, seq: 1, version: 1, result: RESULT })).toBe(s1);
    const s2 = run(s1, { type: "strategyEvaluated", gen, seq: 2, version: 1, result: RESULT });
    expect([s2.strategy.result, s2.strategy.pending, s2.strategy.resultVersion]).toEqual([RESULT, false, 1]);
    // Asked, then the legs changed before the answer: the answer values other legs.
    const s3 = run(asked(s2, 3), call(24100));
    expect(run(s3, { type: "strategyEvaluated", gen, seq: 3, version: 1, result: RESULT })).toBe(s3);
    expect(resultState(s3.strategy)).toBe("outdated");
    // An answer of an earlier session.
    const s4 = asked(s3, 4);
    const late = { type: "strategyEvaluated", gen: gen - 1, seq: 4, version: 2, result: RESULT } as const;
    expect(run(s4, late)).toBe(s4);
  });

  it("shows the service's refusal by field, and the local one without a request", () => {
    const s0 = asked(run(signedIn(), call(24000), call(24100)), 1);
    const { gen } = s0.strategy;
    const errors = { "legs[1].strike": "24100 is not listed" };
    const s1 = run(s0, { type: "strategyEvalRefused", gen, seq: 1, version: 2, errors, message: null });
    expect([s1.strategy.errors, s1.strategy.pending]).toEqual([errors, false]);
    const local = { "legs[0].quantity": "A quantity above 0" };
    const s2 = run(s1, { type: "strategyLegChanged", key: 1, patch: { quantity: "0" } });
    expect(s2.strategy.errors).toEqual({}); // changed: checked again
    const s3 = run(s2, { type: "strategyEvalRefused", gen, seq: null, version: 3, errors: local, message: null });
    expect(s3.strategy.errors).toEqual(local);
    expect(run(s3, { type: "strategyEvalRefused", gen, seq: null, version: 2, errors: {}, message: "x" })).toBe(s3);
  });
});

describe("templates", () => {
  it("replaces the legs with the newest template asked", () => {
    const s0 = run(signedIn(), call(25000));
    const { gen } = s0.strategy;
    const s1 = run(s0, { type: "strategyTemplateAsked", gen, seq: 1 }, { type: "strategyTemplateAsked", gen, seq: 2 });
    expect(s1.strategy.template.pending).toBe(true);
    expect(run(s1, { type: "strategyTemplateLoaded", gen, seq: 1, legs: CONDOR_LEGS })).toBe(s1);
    const s2 = run(s1, { type: "strategyTemplateLoaded", gen, seq: 2, legs: CONDOR_LEGS });
    expect(s2.strategy.legs.map((l) => [l.key, l.strike, l.side, l.quantity, l.price])).toEqual([
      [2, 23800, "BUY", "75", ""],
      [3, 23900, "SELL", "75", ""],
      [4, 24100, "SELL", "75", ""],
      [5, 24200, "BUY", "75", ""],
    ]);
    expect([s2.strategy.template.pending, s2.strategy.loaded]).toEqual([false, null]);
    const refused = { type: "strategyTemplateFailed", gen, seq: 2, errors: { width: "too wide" }, message: null };
    expect(run(s2, refused as StrategyAction).strategy.template).toEqual({
      pending: false,
      errors: { width: "too wide" },
      message: null,
    });
  });
});

describe("saved strategies", () => {
  it("lists, saves (as the loaded one), loads and deletes", () => {
    const s0 = signedIn();
    const { gen } = s0.strategy;
    const s1 = run(s0, { type: "strategiesLoaded", gen, strategies: [saved("st_1", "Condor")] });
    const s2 = run(s1, { type: "strategyLoaded", strategy: saved("st_1", "Condor") });
    expect(s2.strategy.legs.map((l) => l.price)).toEqual(["", "", "", ""]);
    expect(s2.strategy.loaded).toEqual({ id: "st_1", name: "Condor" });
    const s3 = run(
      s2,
      { type: "strategySaveAsked", gen },
      { type: "strategySaved", gen, strategy: saved("st_2", "Wide") },
    );
    expect(s3.strategy.saved?.map((x) => x.id)).toEqual(["st_1", "st_2"]);
    expect([s3.strategy.save.pending, s3.strategy.loaded?.id]).toEqual([false, "st_2"]);
    const s4 = run(s3, { type: "strategySaved", gen, strategy: saved("st_1", "Renamed") });
    expect(s4.strategy.saved?.map((x) => x.name)).toEqual(["Renamed", "Wide"]);
    const s5 = run(s4, { type: "strategyDeleting", gen, id: "st_2" });
    expect(s5.strategy.busy).toEqual(["st_2"]);
    const s6 = run(s5, { type: "strategyDeleted", gen, id: "st_2" });
    expect(s6.strategy.saved?.map((x) => x.id)).toEqual(["st_1"]);
    expect([s6.strategy.busy, s6.strategy.loaded]).toEqual([[], { id: "st_1", name: "Renamed" }]);
  });

  it("says why a save or a delete failed, and drops a previous session's answers", () => {
    const s0 = signedIn();
    const { gen } = s0.strategy;
    const s1 = run(s0, { type: "strategySaveFailed", gen, errors: { name: "too long" }, message: null });
    expect(s1.strategy.save).toEqual({ pending: false, errors: { name: "too long" }, message: null });
    const s2 = run(
      s1,
      { type: "strategyDeleting", gen, id: "st_1" },
      {
        type: "strategyDeleteFailed",
        gen,
        id: "st_1",
        message: "Could not delete: no store",
      },
    );
    expect([s2.strategy.busy, s2.strategy.savedNote]).toEqual([[], "Could not delete: no store"]);
    const out = reduce(s2, { type: "signedOut", reason: null });
    expect(out.strategy.gen).toBe(gen + 1);
    expect(run(out, { type: "strategiesLoaded", gen, strategies: [saved("st_1", "x")] })).toBe(out);
    expect(run(s0, { type: "strategiesFailed", gen, note: "Saved strategies: 502" }).strategy).toMatchObject({
      saved: [],
      savedNote: "Saved strategies: 502",
    });
  });
});
