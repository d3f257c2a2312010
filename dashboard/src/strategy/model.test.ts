import { describe, expect, it } from "vitest";
import { CONDOR_AT_EXPIRY, CONDOR_LEGS, condorAnswer, savedDoc } from "../test/strategy";
import { parseEvaluation, parseLeg, parseLegs, parseSaved, parseSavedList } from "./model";

describe("legs from the wire", () => {
  it("reads an option and the underlying (its strike and expiry dropped)", () => {
    expect(parseLeg(CONDOR_LEGS[0])).toEqual(CONDOR_LEGS[0]);
    const underlying = {
      product: "NIFTY",
      expiry: "2026-11-26",
      strike: 5,
      option_type: null,
      side: "SELL",
      quantity: 2,
    };
    expect(parseLeg(underlying)).toEqual({
      product: "NIFTY",
      expiry: null,
      strike: null,
      option_type: null,
      side: "SELL",
      quantity: 2,
      price: null,
    });
    expect(parseLeg(JSON.stringify({ ...CONDOR_LEGS[1], price: 45.5 }))?.price).toBe(45.5);
  });

  it("refuses a leg it cannot read", () => {
    for (const bad of [
      { ...CONDOR_LEGS[0], side: "HOLD" },
      { ...CONDOR_LEGS[0], quantity: 0 },
      { ...CONDOR_LEGS[0], quantity: "75" },
      { ...CONDOR_LEGS[0], price: "20" },
      { ...CONDOR_LEGS[0], option_type: "STRADDLE" },
      { ...CONDOR_LEGS[0], strike: null },
      { ...CONDOR_LEGS[0], expiry: "" },
      { ...CONDOR_LEGS[0], product: "" },
      null,
      [],
    ]) {
      expect(parseLeg(bad)).toBeNull();
    }
  });

  it("makes a strategy with one unreadable leg unreadable (never valued without it)", () => {
    expect(parseLegs(CONDOR_LEGS)).toHaveLength(4);
    expect(parseLegs([...CONDOR_LEGS.slice(0, 3), { ...CONDOR_LEGS[3], side: "?" }])).toBeNull();
    expect(parseLegs([])).toBeNull();
    expect(parseLegs({ legs: CONDOR_LEGS })).toBeNull();
  });
});

describe("an evaluation", () => {
  it("reads every part the page shows", () => {
    const e = parseEvaluation(condorAnswer())!;
    expect(e.net_premium).toBe(-3975);
    expect([e.max_profit, e.max_loss, e.limits_exact]).toEqual([3975, 3525, true]);
    expect(e.breakevens).toEqual([23847, 24153]);
    expect(e.payoff.expiry).toEqual(CONDOR_AT_EXPIRY);
    expect(e.payoff.dates.map((d) => d.at)).toEqual(["2026-11-24T10:00:00Z"]);
    expect(e.legs.map((l) => [l.price, l.iv])).toEqual([
      [20, 0.16],
      [45, 0.155],
      [50, 0.15],
      [22, 0.152],
    ]);
    expect(e.greeks).toEqual({ delta: -1.25, gamma: -0.0123, theta: 612.5, vega: -845.25 });
    expect(e.density?.outside_mass).toBe(0.0042);
    expect(e.stale).toBe(false);
  });

  it("reads null limits as unbounded, and a stale answer as stale", () => {
    const e = parseEvaluation(condorAnswer({ max_profit: null, max_loss: null, stale: true }))!;
    expect([e.max_profit, e.max_loss, e.stale]).toEqual([null, null, true]);
  });

  it("does without the density, Greeks and PoPs, and drops a date curve of the wrong length", () => {
    const base = condorAnswer();
    const payoff = base.payoff as Record<string, unknown>;
    const e = parseEvaluation({
      ...base,
      density: { spots: [1, 2], risk_neutral: [0.1], lognormal: [0.1, 0.2] },
      greeks: { delta: 1 },
      pop: null,
      payoff: { ...payoff, dates: [{ at: "2026-11-24T10:00:00Z", pnl: [1, 2] }, { pnl: CONDOR_AT_EXPIRY }] },
    })!;
    expect([e.density, e.greeks, e.pop, e.payoff.dates]).toEqual([null, null, null, []]);
  });

  it("refuses an answer without spot, premium, curves or limits", () => {
    const base = condorAnswer();
    const payoff = base.payoff as Record<string, unknown>;
    expect(parseEvaluation({ ...base, spot: "24010" })).toBeNull();
    expect(parseEvaluation({ ...base, net_premium: undefined })).toBeNull();
    expect(parseEvaluation({ ...base, payoff: { ...payoff, today: [1] } })).toBeNull();
    expect(parseEvaluation({ ...base, max_loss: "unlimited" })).toBeNull();
    expect(parseEvaluation({ ...base, max_profit: undefined })).toBeNull();
    expect(parseEvaluation({ ...base, legs: [{ ...CONDOR_LEGS[0], price: null }] })).toBeNull();
    expect(parseEvaluation("not json")).toBeNull();
  });
});

describe("saved strategies", () => {
  it("reads a saved strategy and leaves the unreadable ones out of the list", () => {
    const s = parseSaved(savedDoc("st_1", "Condor"))!;
    expect([s.id, s.name, s.legs.length, s.note]).toEqual(["st_1", "Condor", 4, null]);
    const list = parseSavedList({
      strategies: [savedDoc("st_1", "Condor"), { ...savedDoc("st_2", "Bad"), legs: [] }, savedDoc("st_3", "Other")],
    });
    expect(list.map((x) => x.id)).toEqual(["st_1", "st_3"]);
    expect(parseSavedList({})).toEqual([]);
    expect(parseSaved({ ...savedDoc("", "x") })).toBeNull();
  });
});
