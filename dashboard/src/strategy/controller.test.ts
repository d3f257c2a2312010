import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from "vitest";
import { ApiError } from "../auth";
import { parseHash, type ViewState } from "../hash";
import { initialState, type Action, type DashState } from "../state/model";
import { reduce } from "../state/reducer";
import { Store } from "../state/store";
import { PRODUCTS, TODAY } from "../test/fixtures";
import { CONDOR_LEGS, condorAnswer, savedDoc } from "../test/strategy";
import { DEBOUNCE_MS, REFRESH_MS, StrategyController, templateQuery, type StrategyApi } from "./controller";
import { parseEvaluation, parseSaved, type Evaluation, type SavedStrategy } from "./model";
import type { EvaluateBody } from "./rest";

/** A promise the test settles when it wants. */
function pending<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const RESULT: Evaluation = parseEvaluation(condorAnswer())!;
const OTHER: Evaluation = parseEvaluation(condorAnswer({ max_loss: 4000 }))!;
const saved = (id: string, name: string): SavedStrategy => parseSaved(savedDoc(id, name))!;
const NOW = Date.parse("2026-11-21T10:00:00.000Z");

describe("StrategyController", () => {
  let store: Store<DashState, Action>;
  let api: { [K in keyof StrategyApi]: Mock<StrategyApi[K]> };
  let evaluations: ReturnType<typeof pending<Evaluation>>[];
  let selected: Partial<ViewState>[];
  let controller: StrategyController;

  const st = () => store.state.strategy;
  const bodies = () => api.evaluate.mock.calls.map((c): EvaluateBody => c[0]);
  const addCall = (strike: number) => controller.addLeg(strike, "CALL", "BUY");

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const selection = parseHash("#page=strategy&product=NIFTY&expiry=2026-11-26");
    store = new Store(reduce, initialState(selection));
    store.dispatch({ type: "signedIn", username: "alice", selection });
    store.dispatch({ type: "productsListed", products: PRODUCTS, today: TODAY });
    evaluations = [];
    api = {
      evaluate: vi.fn<StrategyApi["evaluate"]>(() => {
        const p = pending<Evaluation>();
        evaluations.push(p);
        return p.promise;
      }),
      template: vi.fn<StrategyApi["template"]>(),
      list: vi.fn<StrategyApi["list"]>(() => Promise.resolve([saved("st_1", "Condor")])),
      create: vi.fn<StrategyApi["create"]>(),
      replace: vi.fn<StrategyApi["replace"]>(),
      remove: vi.fn<StrategyApi["remove"]>(),
    };
    selected = [];
    controller = new StrategyController({
      store,
      rest: api,
      now: () => NOW,
      select: (patch) => {
        selected.push(patch);
        store.dispatch({ type: "selected", requested: { ...store.state.selection, ...patch }, today: TODAY });
      },
    });
    controller.start();
  });

  afterEach(() => {
    controller.stop();
    vi.useRealTimers();
  });

  it("evaluates once the edits pause, with the legs as typed", async () => {
    controller.setQuantity("75");
    addCall(24000);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS - 1);
    addCall(24100);
    controller.changeLeg(st().legs[1].key, { side: "SELL", price: "31.5" });
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS - 1);
    expect(api.evaluate).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(bodies()).toEqual([
      {
        legs: [
          {
            product: "NIFTY",
            expiry: "2026-11-26",
            strike: 24000,
            option_type: "CALL",
            side: "BUY",
            quantity: 75,
            price: null,
          },
          {
            product: "NIFTY",
            expiry: "2026-11-26",
            strike: 24100,
            option_type: "CALL",
            side: "SELL",
            quantity: 75,
            price: 31.5,
          },
        ],
        dates: [],
      },
    ]);
    expect(st().pending).toBe(true);
    evaluations[0].resolve(RESULT);
    await vi.advanceTimersByTimeAsync(0);
    expect([st().result, st().pending]).toEqual([RESULT, false]);
  });

  it("drops the answer of an older request, and cancels it", async () => {
    addCall(24000);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    const first = api.evaluate.mock.calls[0][1]!;
    controller.changeLeg(st().legs[0].key, { quantity: "2" });
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(first.aborted).toBe(true);
    evaluations[1].resolve(OTHER);
    evaluations[0].resolve(RESULT); // late, after the newer one
    await vi.advanceTimersByTimeAsync(0);
    expect(st().result).toBe(OTHER);
    evaluations[0].reject(new DOMException("aborted", "AbortError"));
    await vi.advanceTimersByTimeAsync(0);
    expect(st().errors).toEqual({});
  });

  it("checks the legs before asking: a refused field is shown and nothing is sent", async () => {
    addCall(24000);
    controller.changeLeg(st().legs[0].key, { quantity: "-1" });
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(api.evaluate).not.toHaveBeenCalled();
    expect(st().errors).toEqual({ "legs[0].quantity": "A quantity above 0" });
  });

  it("shows the service's 422 on its leg, and does not ask again for the same legs", async () => {
    addCall(24000);
    addCall(24010);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    const fields = { "legs[1].strike": ["24010 is not listed for 2026-11-26"] };
    evaluations[0].reject(new ApiError(422, "invalid", "invalid request: legs[1].strike", fields));
    await vi.advanceTimersByTimeAsync(0);
    expect(st().errors).toEqual({ "legs[1].strike": "24010 is not listed for 2026-11-26" });
    await vi.advanceTimersByTimeAsync(2 * REFRESH_MS);
    expect(api.evaluate).toHaveBeenCalledTimes(1);
  });

  it("evaluates the legs again every REFRESH_MS while the strategy page shows them", async () => {
    addCall(24000);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    evaluations[0].resolve(RESULT);
    await vi.advanceTimersByTimeAsync(REFRESH_MS);
    expect(api.evaluate).toHaveBeenCalledTimes(2);
    evaluations[1].reject(new ApiError(503, "unavailable", "no Redis")); // in passing: asked again
    await vi.advanceTimersByTimeAsync(REFRESH_MS);
    expect(api.evaluate).toHaveBeenCalledTimes(3);
    store.dispatch({ type: "selected", requested: { ...store.state.selection, page: "market" }, today: TODAY });
    await vi.advanceTimersByTimeAsync(3 * REFRESH_MS);
    expect(api.evaluate).toHaveBeenCalledTimes(3);
    store.dispatch({ type: "selected", requested: { ...store.state.selection, page: "strategy" }, today: TODAY });
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS); // shown again: at once
    expect(api.evaluate).toHaveBeenCalledTimes(4);
  });

  it("adds the underlying and the curve dates halfway to the first expiry", async () => {
    controller.addDate(); // no evaluation yet: no expiry to go halfway to
    expect(st().dates).toEqual([]);
    controller.addLeg(null, null, "SELL");
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(bodies()[0].legs).toEqual([
      { product: "NIFTY", expiry: null, strike: null, option_type: null, side: "SELL", quantity: 1, price: null },
    ]);
    evaluations[0].resolve(RESULT); // expires 2026-11-26T10:00Z, now 2026-11-21T10:00Z
    await vi.advanceTimersByTimeAsync(0);
    controller.addDate();
    expect(st().dates).toEqual(["2026-11-23T22:00"]);
    controller.setDate(0, "2026-11-24T10:00");
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(bodies()[1].dates).toEqual(["2026-11-24T10:00:00.000Z"]);
    controller.removeDate(0);
    expect(st().dates).toEqual([]);
  });

  it("builds a template around ATM of the expiry shown, with the quantity set", async () => {
    const answer = pending<typeof CONDOR_LEGS>();
    api.template.mockReturnValueOnce(answer.promise);
    controller.setQuantity("75");
    controller.applyTemplate({ name: "iron_condor", width: "2", option_type: "PUT", far_expiry: "" });
    expect(api.template.mock.calls[0].slice(0, 2)).toEqual([
      "NIFTY",
      { name: "iron_condor", expiry: "2026-11-26", quantity: 75, width: 2 },
    ]);
    expect(st().template.pending).toBe(true);
    answer.resolve(CONDOR_LEGS);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(st().legs.map((l) => l.strike)).toEqual([23800, 23900, 24100, 24200]);
    expect(bodies()[0].legs).toEqual(CONDOR_LEGS);
  });

  it("says why a template was refused: locally by field, or the service's", async () => {
    controller.applyTemplate({ name: "calendar", width: "0", option_type: "PUT", far_expiry: "2026-11-18" });
    expect(api.template).not.toHaveBeenCalled();
    expect(st().template.errors).toEqual({
      width: "A whole number of strikes, 1 or more",
      far_expiry: "A later expiry than the one shown",
    });
    api.template.mockRejectedValueOnce(new ApiError(404, "not_found", "no live chain for NIFTY 2026-11-26"));
    controller.applyTemplate({ name: "straddle", width: "1", option_type: "CALL", far_expiry: "" });
    await vi.advanceTimersByTimeAsync(0);
    expect(st().template).toEqual({ pending: false, errors: {}, message: "no live chain for NIFTY 2026-11-26" });
  });

  it("reads the saved strategies once the page is shown, and loads one with its product and expiry", async () => {
    await vi.advanceTimersByTimeAsync(0);
    expect(api.list).toHaveBeenCalledTimes(1);
    expect(st().saved?.map((s) => s.id)).toEqual(["st_1"]);
    store.dispatch({ type: "selected", requested: { ...store.state.selection, expiry: "2026-12-31" }, today: TODAY });
    controller.load("st_1");
    expect(st().loaded).toEqual({ id: "st_1", name: "Condor" });
    expect(selected).toEqual([{ product: "NIFTY", expiry: "2026-11-26" }]);
    expect(store.state.selection.expiry).toBe("2026-11-26");
    controller.load("st_404"); // not listed: nothing
    expect(selected).toHaveLength(1);
  });

  it("saves as new, replaces the loaded one under its own name, and says the limit", async () => {
    await vi.advanceTimersByTimeAsync(0);
    controller.save("Condor");
    expect(st().save.message).toBe("Add a leg first");
    controller.load("st_1");
    api.replace.mockResolvedValueOnce(saved("st_1", "Condor"));
    controller.save(" Condor ");
    await vi.advanceTimersByTimeAsync(0);
    expect(api.replace.mock.calls[0].slice(0, 2)).toEqual(["st_1", { name: "Condor", legs: CONDOR_LEGS }]);
    api.create.mockRejectedValueOnce(new ApiError(409, "strategy_limit", "100 strategies at most"));
    controller.save("Condor wide");
    await vi.advanceTimersByTimeAsync(0);
    expect(api.create.mock.calls[0][0]).toEqual({ name: "Condor wide", legs: CONDOR_LEGS });
    expect(st().save).toEqual({
      pending: false,
      errors: {},
      message: "Strategy limit reached: 100 strategies at most",
    });
    controller.save("x".repeat(81));
    expect(st().save.errors).toEqual({ name: "A name of 1 to 80 characters" });
    expect(api.create).toHaveBeenCalledTimes(1);
  });

  it("deletes a saved strategy (one already gone too), and says why it could not", async () => {
    await vi.advanceTimersByTimeAsync(0);
    api.remove.mockRejectedValueOnce(new ApiError(503, "unavailable", "store unavailable"));
    controller.remove("st_1");
    controller.remove("st_1"); // busy: sent once
    await vi.advanceTimersByTimeAsync(0);
    expect(api.remove).toHaveBeenCalledTimes(1);
    expect([st().saved?.length, st().savedNote]).toEqual([1, "Could not delete: store unavailable"]);
    api.remove.mockRejectedValueOnce(new ApiError(404, "not_found", "no such strategy"));
    controller.remove("st_1");
    await vi.advanceTimersByTimeAsync(0);
    expect(st().saved).toEqual([]);
  });

  it("reads the saved list again while it fails in passing, not after a refusal", async () => {
    controller.stop();
    store.dispatch({ type: "signedIn", username: "alice", selection: store.state.selection });
    api.list.mockReset();
    api.list.mockRejectedValueOnce(new ApiError(502, "bad_gateway", "paper_service unreachable"));
    api.list.mockRejectedValueOnce(new ApiError(403, "forbidden", "no"));
    controller = new StrategyController({ store, rest: api, now: () => NOW, select: () => {} });
    controller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(st().savedNote).toBe("Saved strategies: paper_service unreachable");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(api.list).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.list).toHaveBeenCalledTimes(2);
  });
});

describe("a template's query", () => {
  it("sends the option type for a butterfly or calendar only, and the far expiry for a calendar", () => {
    const c = { name: "butterfly", width: "1", option_type: "PUT", far_expiry: "2026-12-31" } as const;
    expect(templateQuery(c, "2026-11-26", "1.5")).toEqual({
      query: { name: "butterfly", expiry: "2026-11-26", quantity: 1.5, width: 1, option_type: "PUT" },
    });
    expect(templateQuery({ ...c, name: "calendar" }, "2026-11-26", "1")).toEqual({
      query: {
        name: "calendar",
        expiry: "2026-11-26",
        quantity: 1,
        width: 1,
        option_type: "PUT",
        far_expiry: "2026-12-31",
      },
    });
    expect(templateQuery({ ...c, name: "straddle", width: "1.5" }, null, "0")).toEqual({
      errors: {
        width: "A whole number of strikes, 1 or more",
        quantity: "A quantity above 0",
        expiry: "Pick an expiry",
      },
    });
  });
});
