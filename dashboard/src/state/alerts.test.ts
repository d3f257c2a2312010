import { describe, expect, it } from "vitest";
import type { AlertDraft } from "../alerts/draft";
import { parseHash } from "../hash";
import { alert, trigger } from "../test/alerts";
import { MAX_TOASTS, SEEN_MAX, TOAST_MS, emptyAlerts, isNewTrigger } from "./alerts";
import { initialState, type Action, type DashState } from "./model";
import { reduce } from "./reducer";

const run = (s: DashState, ...actions: Action[]) => actions.reduce(reduce, s);
const signedIn = () =>
  run(initialState(parseHash("")), { type: "signedIn", username: "alice", selection: parseHash("") });
const DRAFT = {
  origin: "tile",
  product: "NIFTY",
  strike: null,
  expiries: [],
  metrics: ["spot"],
  current: {},
} as unknown as AlertDraft;
const at = (min: number) => `2026-11-21T09:${String(min).padStart(2, "0")}:00.000Z`;

describe("the alert list", () => {
  it("keeps only the answers of its generation: a sign-out drops the reads in flight", () => {
    const s = signedIn();
    const gen = s.alerts.gen;
    const loaded = reduce(s, { type: "alertsLoaded", gen, alerts: [alert("a1")] });
    expect(loaded.alerts.list?.map((a) => a.id)).toEqual(["a1"]);
    const out = reduce(loaded, { type: "signedOut", reason: null });
    expect(out.alerts).toEqual({ ...emptyAlerts(gen + 1) });
    expect(reduce(out, { type: "alertsLoaded", gen, alerts: [alert("a2")] })).toBe(out);
    expect(reduce(out, { type: "triggersLoaded", gen, triggers: [trigger("t")], next: null })).toBe(out);
  });

  it("says why it could not be read, and shows none rather than waiting", () => {
    const s = signedIn();
    const failed = reduce(s, { type: "alertsFailed", gen: s.alerts.gen, note: "Alerts: store unavailable" });
    expect(failed.alerts).toMatchObject({ list: [], listNote: "Alerts: store unavailable" });
  });

  it("marks an alert busy while it changes, then replaces or removes it", () => {
    const s0 = signedIn();
    const gen = s0.alerts.gen;
    const s1 = run(
      s0,
      { type: "alertsLoaded", gen, alerts: [alert("a1"), alert("a2")] },
      { type: "alertChanging", gen, id: "a1" },
    );
    expect(s1.alerts.busy).toEqual(["a1"]);
    expect(reduce(s1, { type: "alertChanging", gen, id: "a1" })).toBe(s1);
    const paused = reduce(s1, { type: "alertChanged", gen, alert: alert("a1", { active: false }) });
    expect(paused.alerts.busy).toEqual([]);
    expect(paused.alerts.list?.map((a) => [a.id, a.active])).toEqual([
      ["a1", false],
      ["a2", true],
    ]);
    const s2 = run(paused, { type: "alertChanging", gen, id: "a2" }, { type: "alertDeleted", gen, id: "a2" });
    expect(s2.alerts.list?.map((a) => a.id)).toEqual(["a1"]);
    expect(s2.alerts.busy).toEqual([]);
    const failed = run(
      s2,
      { type: "alertChanging", gen, id: "a1" },
      { type: "alertChangeFailed", gen, id: "a1", message: "no" },
    );
    expect(failed.alerts).toMatchObject({ busy: [], message: "no" });
    expect(failed.alerts.list).toEqual(s2.alerts.list);
  });
});

describe("the create form", () => {
  it("opens with a new id; refusals and answers apply to that form only", () => {
    const s0 = signedIn();
    const gen = s0.alerts.gen;
    const s1 = reduce(s0, { type: "alertFormOpened", draft: DRAFT });
    const id = s1.alerts.form!.id;
    expect(s1.alerts.form).toEqual({ id, draft: DRAFT, errors: {}, message: null, pending: false });
    const sent = reduce(s1, { type: "alertFormSent", form: id });
    expect(sent.alerts.form?.pending).toBe(true);
    const refused = reduce(sent, {
      type: "alertFormRefused",
      form: id,
      errors: { value: "Not a number" },
      message: null,
    });
    expect(refused.alerts.form).toMatchObject({ pending: false, errors: { value: "Not a number" } });
    // a second form: the first one's late answer neither closes it nor lists an alert twice
    const s2 = run(refused, { type: "alertFormClosed" }, { type: "alertFormOpened", draft: DRAFT });
    expect(s2.alerts.form!.id).toBe(id + 1);
    expect(reduce(s2, { type: "alertFormRefused", form: id, errors: {}, message: "late" })).toBe(s2);
    const created = reduce(s2, { type: "alertCreated", gen, form: id, alert: alert("a9") });
    expect(created.alerts.form?.id).toBe(id + 1);
    expect(created.alerts.list?.map((a) => a.id)).toEqual(["a9"]);
    const own = reduce(created, { type: "alertCreated", gen, form: id + 1, alert: alert("a9", { value: 1 }) });
    expect(own.alerts.form).toBeNull();
    expect(own.alerts.list?.map((a) => [a.id, a.value])).toEqual([["a9", 1]]);
  });
});

describe("triggers and toasts", () => {
  it("a live trigger is listed first and toasted once, however often it is delivered", () => {
    const s0 = run(signedIn(), {
      type: "triggersLoaded",
      gen: 1,
      triggers: [trigger("old", at(30))],
      next: "c1",
    });
    const t = trigger("t1", at(41));
    const s1 = reduce(s0, { type: "alertTriggered", trigger: t, now: 5_000 });
    expect(s1.alerts.triggers.map((x) => x.trigger_id)).toEqual(["t1", "old"]);
    expect(s1.alerts.toasts).toEqual([{ trigger: t, shownAt: 5_000 }]);
    expect(reduce(s1, { type: "alertTriggered", trigger: { ...t }, now: 6_000 })).toBe(s1);
    // closed, then delivered again: still not shown again
    const closed = reduce(s1, { type: "toastClosed", triggerId: "t1" });
    expect(closed.alerts.toasts).toEqual([]);
    expect(reduce(closed, { type: "alertTriggered", trigger: t, now: 7_000 })).toBe(closed);
    // one the history listed is no news either
    expect(isNewTrigger(closed.alerts, trigger("old"))).toBe(false);
  });

  it("a toast goes TOAST_MS after it was shown, on the clock's tick", () => {
    const s1 = run(
      signedIn(),
      { type: "alertTriggered", trigger: trigger("a"), now: 1_000 },
      { type: "alertTriggered", trigger: trigger("b"), now: 4_000 },
    );
    const kept = reduce(s1, { type: "tick", now: 1_000 + TOAST_MS - 1 });
    expect(kept.alerts).toBe(s1.alerts);
    const later = reduce(kept, { type: "tick", now: 1_000 + TOAST_MS });
    expect(later.alerts.toasts.map((x) => x.trigger.trigger_id)).toEqual(["b"]);
    expect(reduce(later, { type: "tick", now: 4_000 + TOAST_MS }).alerts.toasts).toEqual([]);
  });

  it("at most MAX_TOASTS show at once, the oldest going first", () => {
    const ids = Array.from({ length: MAX_TOASTS + 2 }, (_, i) => `t${i}`);
    const s = run(
      signedIn(),
      ...ids.map((id, i): Action => ({ type: "alertTriggered", trigger: trigger(id, at(i)), now: i })),
    );
    expect(s.alerts.toasts.map((x) => x.trigger.trigger_id)).toEqual(ids.slice(2));
    expect(s.alerts.triggers.map((x) => x.trigger_id)).toEqual([...ids].reverse());
  });

  it("the history's pages merge with the live triggers, newest first, and keep the next cursor", () => {
    const s0 = signedIn();
    const gen = s0.alerts.gen;
    const s1 = run(
      s0,
      { type: "alertTriggered", trigger: trigger("live", at(50)), now: 1 },
      { type: "triggersAsked", gen },
    );
    expect(s1.alerts.historyPending).toBe(true);
    const s2 = reduce(s1, {
      type: "triggersLoaded",
      gen,
      triggers: [trigger("live", at(50)), trigger("p1", at(40))],
      next: "c1",
    });
    expect(s2.alerts).toMatchObject({ historyPending: false, historyNext: "c1" });
    expect(s2.alerts.triggers.map((x) => x.trigger_id)).toEqual(["live", "p1"]);
    const s3 = reduce(s2, { type: "triggersLoaded", gen, triggers: [trigger("p2", at(20))], next: null });
    expect(s3.alerts.triggers.map((x) => x.trigger_id)).toEqual(["live", "p1", "p2"]);
    expect(s3.alerts.historyNext).toBeNull();
    const failed = run(s3, { type: "triggersAsked", gen }, { type: "triggersFailed", gen, note: "Triggers: down" });
    expect(failed.alerts).toMatchObject({ historyPending: false, historyNote: "Triggers: down" });
  });

  it("remembers the last SEEN_MAX trigger ids", () => {
    const many = Array.from({ length: SEEN_MAX + 5 }, (_, i) => trigger(`t${i}`, at(0)));
    const s = reduce(signedIn(), { type: "triggersLoaded", gen: 1, triggers: many, next: null });
    expect(s.alerts.seen).toHaveLength(SEEN_MAX);
    expect(s.alerts.seen[0]).toBe("t5");
  });

  it("the browser's permission to notify is kept as it changes", () => {
    const s = reduce(signedIn(), { type: "notificationsAre", permission: "default" });
    expect(s.alerts.notifications).toBe("default");
    expect(reduce(s, { type: "notificationsAre", permission: "default" })).toBe(s);
  });
});
