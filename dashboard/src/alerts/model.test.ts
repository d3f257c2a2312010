import { describe, expect, it } from "vitest";
import { mergeTriggers, optionSide, parseAlert, parseAlerts, parseHistory, parseTrigger, type Trigger } from "./model";
import { ALERT_DOC, TRIGGER_DOC, trigger } from "../test/alerts";

describe("alert documents", () => {
  it("are read as the service answers them (the owner not kept)", () => {
    expect(parseAlert(ALERT_DOC)).toEqual({
      id: "al_AAAAAAAAAAAAAAAAAAAAA1",
      product: "NIFTY",
      metric: "iv",
      op: "crosses_above",
      value: 0.25,
      expiry: "2026-11-26",
      strike: 24_000,
      option_type: "CALL",
      cooldown_s: 300,
      window_s: null,
      active: true,
      note: "watch the wing",
      webhook_url: null,
      webhook_secret: null,
      created_at: "2026-11-21T09:00:00.000Z",
    });
    const hooked = parseAlert({ ...ALERT_DOC, webhook_url: "https://h.example/x", webhook_secret: "ab".repeat(32) });
    expect([hooked?.webhook_url, hooked?.webhook_secret]).toEqual(["https://h.example/x", "ab".repeat(32)]);
  });

  it("leave out an entry without what the panel shows, keep the others in order", () => {
    const list = {
      alerts: [
        ALERT_DOC,
        { ...ALERT_DOC, id: "al_2", metric: "vega" },
        { ...ALERT_DOC, id: "al_3", value: "0.3" },
        null,
        { ...ALERT_DOC, id: "al_4", active: false, option_type: "PE", strike: null, expiry: null },
      ],
    };
    const alerts = parseAlerts(list);
    expect(alerts.map((a) => a.id)).toEqual(["al_AAAAAAAAAAAAAAAAAAAAA1", "al_4"]);
    expect(alerts[1]).toMatchObject({ active: false, option_type: "PUT", strike: null, expiry: null });
    expect(parseAlerts({ alerts: "no" })).toEqual([]);
    expect(parseAlerts(null)).toEqual([]);
  });

  it("take the wire's CALL / PUT and NSE's CE / PE as the option's side", () => {
    expect([optionSide("CALL"), optionSide("CE"), optionSide("PUT"), optionSide("PE")]).toEqual([
      "CALL",
      "CALL",
      "PUT",
      "PUT",
    ]);
    expect([optionSide("call"), optionSide(null), optionSide(1)]).toEqual([null, null, null]);
  });
});

describe("triggers", () => {
  it("are read from the socket's object or JSON string, a missing value as null", () => {
    const t = parseTrigger(JSON.stringify(TRIGGER_DOC));
    expect(t).toEqual({
      trigger_id: "0f".repeat(16),
      alert_id: "al_AAAAAAAAAAAAAAAAAAAAA1",
      product: "NIFTY",
      expiry: "2026-11-26",
      metric: "iv",
      op: "crosses_above",
      strike: 24_000,
      option_type: "CALL",
      value: 0.2531,
      threshold: 0.25,
      timestamp: "2026-11-21T09:41:00.123Z",
      triggered_at: "2026-11-21T09:41:00.140Z",
      note: null,
    });
    expect(parseTrigger({ ...TRIGGER_DOC, value: null })?.value).toBeNull();
  });

  it("are refused without an id, a known metric, a threshold or the data's timestamp", () => {
    for (const broken of [
      { ...TRIGGER_DOC, trigger_id: "" },
      { ...TRIGGER_DOC, metric: "theta" },
      { ...TRIGGER_DOC, op: "equals" },
      { ...TRIGGER_DOC, threshold: null },
      { ...TRIGGER_DOC, timestamp: undefined },
    ]) {
      expect(parseTrigger(broken)).toBeNull();
    }
  });

  it("history pages keep their readable triggers and their cursor", () => {
    const page = parseHistory({ triggers: [TRIGGER_DOC, { nope: 1 }], next: "abc" });
    expect(page.triggers.map((t) => t.trigger_id)).toEqual(["0f".repeat(16)]);
    expect(page.next).toBe("abc");
    expect(parseHistory({ triggers: [], next: null })).toEqual({ triggers: [], next: null });
    expect(parseHistory("garbage")).toEqual({ triggers: [], next: null });
  });

  it("merge newest first, once per trigger_id (the first copy kept)", () => {
    const a = trigger("a", "2026-11-21T09:41:00.000Z");
    const b = trigger("b", "2026-11-21T09:42:00.000Z");
    const c = trigger("c", "2026-11-21T09:40:00.000Z");
    const bAgain: Trigger = { ...b, value: 999 };
    const merged = mergeTriggers([a, b], [bAgain, c]);
    expect(merged.map((t) => t.trigger_id)).toEqual(["b", "a", "c"]);
    expect(merged[0].value).toBe(b.value);
  });
});
