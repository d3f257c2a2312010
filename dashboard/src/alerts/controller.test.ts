import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from "vitest";
import { ApiError } from "../auth";
import { parseHash } from "../hash";
import { initialState, type Action, type DashState } from "../state/model";
import { reduce } from "../state/reducer";
import { Store } from "../state/store";
import { PRODUCTS, TODAY, chain } from "../test/fixtures";
import { alert, trigger } from "../test/alerts";
import { AlertsController, RETRY_MS, type AlertsApi } from "./controller";
import type { AlertBody } from "./draft";
import type { Alert, HistoryPage } from "./model";
import type { Notifier } from "./notify";

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
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

describe("AlertsController", () => {
  let store: Store<DashState, Action>;
  let list: ReturnType<typeof pending<Alert[]>>;
  let history: ReturnType<typeof pending<HistoryPage>>;
  let api: { [K in keyof AlertsApi]: Mock<AlertsApi[K]> };
  let shown: [string, string, string][];
  let permission: NotificationPermission;
  let controller: AlertsController;
  let now: number;

  beforeEach(() => {
    store = new Store(reduce, initialState(parseHash("")));
    for (const a of [
      { type: "signedIn", username: "alice", selection: parseHash("") },
      { type: "productsListed", products: PRODUCTS, today: TODAY },
      { type: "chainLive", chain: chain("2026-11-21T09:41:00.000Z", { atm_iv: 0.2531 }), now: 1 },
    ] as Action[]) {
      store.dispatch(a);
    }
    list = pending();
    history = pending();
    api = {
      list: vi.fn<AlertsApi["list"]>(() => list.promise),
      history: vi.fn<AlertsApi["history"]>(() => history.promise),
      create: vi.fn<AlertsApi["create"]>(),
      update: vi.fn<AlertsApi["update"]>(),
      remove: vi.fn<AlertsApi["remove"]>(),
    };
    shown = [];
    permission = "granted";
    const notifier: Notifier = {
      permission: () => permission,
      request: () => Promise.resolve((permission = "denied")),
      show: (title, body, tag) => shown.push([title, body, tag]),
    };
    now = 50_000;
    controller = new AlertsController({
      store,
      rest: api,
      now: () => now,
      today: () => TODAY,
      notifier,
    });
    controller.start();
  });

  afterEach(() => {
    controller.stop();
    vi.useRealTimers();
  });

  const alerts = () => store.state.alerts;

  it("reads the alerts and the newest triggers, then older pages on demand", async () => {
    expect(alerts().notifications).toBe("granted");
    list.resolve([alert("a1")]);
    history.resolve({ triggers: [trigger("t1")], next: "c1" });
    await settle();
    expect(alerts().list?.map((a) => a.id)).toEqual(["a1"]);
    expect(alerts().historyNext).toBe("c1");
    const older = pending<HistoryPage>();
    api.history.mockReturnValueOnce(older.promise);
    controller.moreHistory();
    controller.moreHistory(); // asked once while the page is on its way
    expect(api.history.mock.calls.map((c) => c[0])).toEqual([null, "c1"]);
    older.resolve({ triggers: [trigger("t0", "2026-11-21T09:00:00.000Z")], next: null });
    await settle();
    expect(alerts().triggers.map((t) => t.trigger_id)).toEqual(["t1", "t0"]);
    controller.moreHistory(); // no next page: nothing asked
    expect(api.history).toHaveBeenCalledTimes(2);
  });

  it("says why the alerts could not be read, and reads them again later while it passes", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    api.list.mockRejectedValueOnce(new ApiError(503, "unavailable", "store unavailable"));
    api.history.mockRejectedValueOnce(new ApiError(503, "unavailable", "store unavailable"));
    list.reject(new ApiError(503, "unavailable", "store unavailable"));
    history.reject(new TypeError("Failed to fetch"));
    await vi.advanceTimersByTimeAsync(0);
    expect(alerts()).toMatchObject({ list: [], listNote: "Alerts: store unavailable" });
    expect(alerts().historyNote).toBe("Triggers: Cannot reach the server. Check your connection.");
    await vi.advanceTimersByTimeAsync(RETRY_MS - 1);
    expect([api.list.mock.calls.length, api.history.mock.calls.length]).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(1); // the second failure waits twice as long
    expect([api.list.mock.calls.length, api.history.mock.calls.length]).toEqual([2, 2]);
    api.list.mockResolvedValueOnce([alert("a1")]);
    api.history.mockResolvedValueOnce({ triggers: [], next: null });
    await vi.advanceTimersByTimeAsync(2 * RETRY_MS);
    expect([api.list.mock.calls.length, api.history.mock.calls.length]).toEqual([3, 3]);
    expect(alerts()).toMatchObject({ listNote: null, historyNote: null });
    expect(alerts().list?.map((a) => a.id)).toEqual(["a1"]);
    await vi.advanceTimersByTimeAsync(10 * RETRY_MS);
    expect(api.list).toHaveBeenCalledTimes(3); // read: no more asking
  });

  it("does not ask again after a refusal", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    list.reject(new ApiError(403, "forbidden", "no"));
    await vi.advanceTimersByTimeAsync(10 * RETRY_MS);
    expect(api.list).toHaveBeenCalledTimes(1);
    expect(alerts().listNote).toBe("Alerts: no");
  });

  it("checks the form before sending; a valid one is created and closes", async () => {
    controller.fromTile("atm_iv");
    const form = alerts().form!;
    expect(form.draft.values.threshold).toBe("25.31");
    controller.submit({ ...form.draft.values, threshold: "" });
    expect(api.create).not.toHaveBeenCalled();
    expect(alerts().form?.errors).toEqual({ value: "Enter a number" });
    const answer = pending<Alert>();
    api.create.mockReturnValueOnce(answer.promise);
    controller.submit({ ...form.draft.values, threshold: "26" });
    controller.submit({ ...form.draft.values, threshold: "26" }); // pending: not sent twice
    expect(api.create).toHaveBeenCalledTimes(1);
    const body: AlertBody = api.create.mock.calls[0][0];
    expect(body).toEqual({
      product: "NIFTY",
      metric: "atm_iv",
      op: "crosses_above",
      value: 0.26,
      expiry: "2026-11-26",
      cooldown_s: 300,
    });
    expect(alerts().form?.pending).toBe(true);
    answer.resolve(alert("a7", { metric: "atm_iv", value: 0.26 }));
    await settle();
    expect(alerts().form).toBeNull();
    expect(alerts().list?.map((a) => a.id)).toEqual(["a7"]);
  });

  it("shows the server's 422 beside its field and the 409 limit on the form", async () => {
    controller.fromStrike(24_000);
    const form = alerts().form!;
    api.create.mockRejectedValueOnce(
      new ApiError(422, "validation_error", "invalid request: value", { value: ["must be finite"] }),
    );
    controller.submit(form.draft.values);
    await settle();
    expect(alerts().form).toMatchObject({ pending: false, errors: { value: "must be finite" }, message: null });
    api.create.mockRejectedValueOnce(new ApiError(409, "alert_limit", "at most 20 alerts per user"));
    controller.submit(form.draft.values);
    await settle();
    expect(alerts().form).toMatchObject({ errors: {}, message: "Alert limit reached: at most 20 alerts per user" });
  });

  it("pauses, resumes and deletes; an alert already gone is taken away", async () => {
    list.resolve([alert("a1"), alert("a2")]);
    await settle();
    api.update.mockResolvedValueOnce(alert("a1", { active: false }));
    controller.setActive("a1", false);
    expect(alerts().busy).toEqual(["a1"]);
    controller.setActive("a1", false); // busy: not sent twice
    await settle();
    expect(api.update.mock.calls).toEqual([["a1", { active: false }, expect.any(AbortSignal)]]);
    expect(alerts().list?.map((a) => a.active)).toEqual([false, true]);
    api.remove.mockRejectedValueOnce(new ApiError(404, "not_found", "no such alert"));
    controller.remove("a2");
    await settle();
    expect(alerts().list?.map((a) => a.id)).toEqual(["a1"]);
    api.update.mockRejectedValueOnce(new ApiError(503, "unavailable", "store unavailable"));
    controller.setActive("a1", true);
    await settle();
    expect(alerts()).toMatchObject({ busy: [], message: "Could not resume the alert: store unavailable" });
  });

  it("toasts and notifies a trigger once, whatever its product, however often delivered", () => {
    const btc = trigger("t9", "2026-11-21T09:41:00.140Z", { product: "BTC", value: 97_010.5, threshold: 97_000 });
    controller.triggered(btc);
    controller.triggered({ ...btc });
    expect(alerts().toasts).toEqual([{ trigger: btc, shownAt: 50_000 }]);
    expect(shown).toHaveLength(1);
    const [title, body, tag] = shown[0];
    expect([title, tag]).toEqual(["BTC · Spot crosses above", "t9"]);
    expect(body).toMatch(/^97,010\.50 \(threshold 97,000\.00\) · data at /);
  });

  it("asks the browser's permission and keeps its answer", async () => {
    permission = "default";
    controller.enableNotifications();
    await settle();
    expect(alerts().notifications).toBe("denied");
  });

  it("once stopped, cancels its reads and applies nothing", async () => {
    const signal = api.list.mock.calls[0][0];
    controller.stop();
    expect(signal?.aborted).toBe(true);
    const before = store.state;
    list.resolve([alert("a1")]);
    controller.triggered(trigger("late"));
    await settle();
    expect(store.state).toBe(before);
  });
});
