import { describe, expect, it } from "vitest";
import { ApiError } from "../auth";
import { parseHash } from "../hash";
import { initialState, type Action, type DashState } from "../state/model";
import { reduce } from "../state/reducer";
import { PRODUCTS, TODAY, chain, underlying } from "../test/fixtures";
import type { EnrichedChain } from "../types";
import {
  formRefusal,
  parseNumber,
  prefillThreshold,
  strikeDraft,
  tileDraft,
  tileValue,
  validateDraft,
  type AlertDraft,
  type DraftValues,
} from "./draft";

const T0 = "2026-11-21T09:41:00.000Z";
const row = (strike: number, iv: number | null, oiChange: number | null) => ({
  strike,
  bid: 1,
  ask: 2,
  last: 1.5,
  volume: 10,
  oi: 100,
  iv,
  oi_change: oiChange,
});
/** NIFTY 2026-11-26 at spot 24,010 with the chain's statistics the tiles show. */
const CHAIN = chain(T0, {
  atm_iv: 0.253149,
  risk_reversal_25d: -0.02351,
  net_gex: 1_234_567.8,
  gex_flip: null,
  calls: [row(24_000, 0.2012, 1_500), row(24_050, 0.1987, -250)],
  puts: [row(24_000, 0.2105, 300), row(24_050, null, null)],
} as Partial<EnrichedChain>);

const showing = (...actions: Action[]): DashState =>
  [
    { type: "signedIn", username: "alice", selection: parseHash("") } as Action,
    { type: "productsListed", products: PRODUCTS, today: TODAY } as Action,
    ...actions,
  ].reduce(reduce, initialState(parseHash("")));
const S = showing({ type: "chainLive", chain: CHAIN, now: 1 });

describe("drafts from the tiles", () => {
  it("take the tile's value as threshold, in the unit it is typed in", () => {
    const atm = tileDraft(S, "atm_iv")!;
    expect(atm).toMatchObject({ origin: "tile", product: "NIFTY", strike: null, metrics: ["atm_iv"] });
    expect(atm.expiries).toEqual(["2026-11-18", "2026-11-26", "2026-12-31"]);
    expect(atm.values).toEqual({
      metric: "atm_iv",
      op: "crosses_above",
      threshold: "25.31", // 0.253149 in percent, two decimals
      expiry: "2026-11-26",
      side: null,
      cooldown: "300",
      window: "",
      note: "",
      webhook: "",
    });
    expect(tileDraft(S, "risk_reversal_25d")!.values.threshold).toBe("-2.35");
    expect(tileDraft(S, "net_gex")!.values.threshold).toBe("1234568");
    expect(tileDraft(S, "pcr_oi")!.values.threshold).toBe("2");
    expect(tileDraft(S, "gex_flip")!.values.threshold).toBe(""); // no flip: nothing to prefill
  });

  it("the spot's has no expiry and takes the live tick over the chain's spot", () => {
    expect(tileValue(S, "spot")).toBe(24_010);
    const live = reduce(S, { type: "underlyingLive", underlying: underlying(24_012.345), now: 2 });
    const spot = tileDraft(live, "spot")!;
    expect(spot.values.expiry).toBeNull();
    expect(spot.values.threshold).toBe("24012.35");
  });

  it("a change_pct threshold is a 5 % move whatever the metric", () => {
    const atm = tileDraft(S, "atm_iv")!;
    expect(prefillThreshold(atm, "atm_iv", "change_pct", null)).toBe("5");
    expect(prefillThreshold(atm, "atm_iv", "below", null)).toBe("25.31");
  });

  it("start from the live chain while the page shows a past instant", () => {
    const past = chain("2026-11-21T09:00:00.000Z", { atm_iv: 0.18 });
    const travelling: DashState = {
      ...S,
      travel: { at: Date.parse("2026-11-21T09:00:00.000Z"), pending: false, held: CHAIN },
      data: { ...S.data, chain: past },
    };
    expect(tileDraft(travelling, "atm_iv")!.values.threshold).toBe("25.31");
    expect(strikeDraft(travelling, 24_000)!.values.threshold).toBe("21.05");
    const noneHeld: DashState = { ...travelling, travel: { ...travelling.travel, held: null } };
    expect(tileDraft(noneHeld, "atm_iv")!.values.threshold).toBe("");
    expect(strikeDraft(noneHeld, 24_000)).toBeNull();
  });

  it("need a product", () => {
    expect(tileDraft(initialState(parseHash("")), "spot")).toBeNull();
  });
});

describe("drafts from a strike", () => {
  it("open on the out-of-the-money side's IV of that strike", () => {
    const put = strikeDraft(S, 24_000)!; // below spot 24,010: the put is out of the money
    expect(put).toMatchObject({ origin: "strike", product: "NIFTY", strike: 24_000, metrics: ["iv", "oi_change"] });
    expect(put.values).toMatchObject({ metric: "iv", side: "PUT", expiry: "2026-11-26", threshold: "21.05" });
    expect(put.current).toEqual({ "iv:CALL": 0.2012, "iv:PUT": 0.2105, "oi_change:CALL": 1_500, "oi_change:PUT": 300 });
    const call = strikeDraft(S, 24_050)!;
    expect(call.values).toMatchObject({ side: "CALL", threshold: "19.87" });
    expect(prefillThreshold(call, "oi_change", "above", "CALL")).toBe("-250");
    expect(prefillThreshold(call, "iv", "above", "PUT")).toBe(""); // that put has no IV
  });

  it("need the strike in the shown chain", () => {
    expect(strikeDraft(S, 23_000)).toBeNull();
    expect(strikeDraft(showing(), 24_000)).toBeNull();
  });
});

describe("typed numbers", () => {
  it("take grouping and spaces, refuse what is not a number", () => {
    expect(parseNumber(" 24,000.5 ")).toBe(24_000.5);
    expect(parseNumber("-2.35")).toBe(-2.35);
    expect(parseNumber("")).toBeNull();
    expect(parseNumber("  ")).toBeNull();
    expect(parseNumber("12abc")).toBeNaN();
    expect(parseNumber("Infinity")).toBeNaN();
  });
});

describe("local checks", () => {
  const atm = tileDraft(S, "atm_iv")!;
  const strike = strikeDraft(S, 24_000)!;
  const check = (d: AlertDraft, patch: Partial<DraftValues>) => validateDraft(d, { ...d.values, ...patch });

  it("send the threshold in the metric's own unit, the nearest expiry as none", () => {
    expect(check(atm, { threshold: "25.5" })).toEqual({
      body: {
        product: "NIFTY",
        metric: "atm_iv",
        op: "crosses_above",
        value: 0.255,
        expiry: "2026-11-26",
        cooldown_s: 300,
      },
    });
    expect(check(atm, { expiry: null, op: "below", threshold: "30", cooldown: "0", note: "  vol crush " })).toEqual({
      body: { product: "NIFTY", metric: "atm_iv", op: "below", value: 0.3, cooldown_s: 0, note: "vol crush" },
    });
  });

  it("send a webhook URL when one is given, refuse one that is not http(s)", () => {
    expect(check(atm, { webhook: " https://hooks.example.com/of?x=1 " })).toMatchObject({
      body: { webhook_url: "https://hooks.example.com/of?x=1" },
    });
    for (const bad of ["ftp://example.com/x", "example.com/hook", "https://", `https://e.com/${"x".repeat(2048)}`]) {
      expect(check(atm, { webhook: bad })).toEqual({ errors: { webhook_url: "An http:// or https:// address" } });
    }
  });

  it("send an option's strike and side, and change_pct's window", () => {
    expect(
      check(strike, { metric: "oi_change", side: "CALL", op: "change_pct", threshold: "12.5", window: "900" }),
    ).toEqual({
      body: {
        product: "NIFTY",
        metric: "oi_change",
        op: "change_pct",
        value: 12.5,
        expiry: "2026-11-26",
        strike: 24_000,
        option_type: "CALL",
        cooldown_s: 300,
        window_s: 900,
      },
    });
  });

  it("name each refused field as the server does", () => {
    expect(check(atm, { threshold: "" })).toEqual({ errors: { value: "Enter a number" } });
    expect(check(atm, { threshold: "abc", cooldown: "1.5" })).toEqual({
      errors: { value: "Enter a number", cooldown_s: "Whole seconds from 0 to 604,800" },
    });
    expect(check(atm, { op: "change_pct", threshold: "0", window: "30" })).toEqual({
      errors: { value: "A move above 0 %", window_s: "Whole seconds from 60 to 86,400" },
    });
    expect(check(atm, { op: "change_pct", threshold: "-3", window: "" })).toMatchObject({
      errors: { value: "A move above 0 %", window_s: "Whole seconds from 60 to 86,400" },
    });
    expect(check(strike, { side: null })).toEqual({ errors: { option_type: "Choose call or put" } });
    expect(check(atm, { metric: "iv" })).toMatchObject({ errors: { metric: "Not offered here" } });
    expect(check(tileDraft(S, "spot")!, { expiry: "2026-11-26" })).toEqual({
      errors: { expiry: "The spot has no expiry" },
    });
    expect(check(atm, { note: "x".repeat(281) })).toEqual({ errors: { note: "At most 280 characters" } });
    expect(check(atm, { cooldown: String(7 * 86_400 + 1) })).toEqual({
      errors: { cooldown_s: "Whole seconds from 0 to 604,800" },
    });
  });
});

describe("the server's refusals", () => {
  it("a 422's fields go beside theirs, the others into the form's message", () => {
    const err = new ApiError(422, "validation_error", "invalid request: product, value", {
      value: ["Not a valid number."],
      product: ["unknown product NOPE"],
      webhook_url: ["its host is a loopback address"],
    });
    expect(formRefusal(err)).toEqual({
      errors: { value: "Not a valid number.", webhook_url: "its host is a loopback address" },
      message: "product: unknown product NOPE",
    });
    const only = new ApiError(422, "validation_error", "invalid request: window_s", { window_s: ["required"] });
    expect(formRefusal(only)).toEqual({ errors: { window_s: "required" }, message: null });
    expect(formRefusal(new ApiError(422, "validation_error", "value: must be finite"))).toEqual({
      errors: {},
      message: "value: must be finite",
    });
  });

  it("a 409 is the alert limit; anything else is said as it is", () => {
    const limit = new ApiError(409, "alert_limit", "at most 20 alerts per user");
    expect(formRefusal(limit)).toEqual({ errors: {}, message: "Alert limit reached: at most 20 alerts per user" });
    expect(formRefusal(new ApiError(503, "unavailable", "store unavailable"))).toEqual({
      errors: {},
      message: "store unavailable",
    });
    expect(formRefusal(new TypeError("Failed to fetch")).message).toBe(
      "Cannot reach the server. Check your connection.",
    );
  });
});
