import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../auth";
import { type FetchMock, json, restoreFetch, sentBy, signedIn } from "../test/restClient";
import { ALERT_DOC, TRIGGER_DOC } from "../test/alerts";
import { AlertsRest } from "./rest";

describe("AlertsRest", () => {
  let fetchMock: FetchMock;
  let rest: AlertsRest;
  /** [method, path, JSON body] of the n-th request. */
  const sent = (n: number) => sentBy(fetchMock, n).slice(0, 3);

  beforeEach(async () => {
    const signed = await signedIn();
    fetchMock = signed.fetchMock;
    rest = new AlertsRest(signed.auth);
  });
  afterEach(restoreFetch);

  it("lists the caller's alerts with the access token", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { alerts: [ALERT_DOC] }));
    const alerts = await rest.list();
    expect(alerts.map((a) => [a.id, a.metric, a.option_type])).toEqual([["al_AAAAAAAAAAAAAAAAAAAAA1", "iv", "CALL"]]);
    expect(sent(0)).toEqual(["GET", "/api/alerts", null]);
    const headers = fetchMock.mock.calls[0][1]?.headers as Headers;
    expect(headers.get("Authorization")).toBe("Bearer a1");
  });

  it("creates, changes and deletes one alert (a 204 without a body)", async () => {
    const body = { product: "NIFTY", metric: "spot" as const, op: "above" as const, value: 24_000, cooldown_s: 300 };
    fetchMock.mockResolvedValueOnce(json(201, { ...ALERT_DOC, metric: "spot", strike: null, option_type: null }));
    expect((await rest.create(body)).metric).toBe("spot");
    fetchMock.mockResolvedValueOnce(json(200, { ...ALERT_DOC, active: false }));
    expect((await rest.update("al_AAAAAAAAAAAAAAAAAAAAA1", { active: false })).active).toBe(false);
    fetchMock.mockResolvedValueOnce(json(204, null));
    await expect(rest.remove("al_AAAAAAAAAAAAAAAAAAAAA1")).resolves.toBeUndefined();
    expect([sent(0), sent(1), sent(2)]).toEqual([
      ["POST", "/api/alerts", body],
      ["PATCH", "/api/alerts/al_AAAAAAAAAAAAAAAAAAAAA1", { active: false }],
      ["DELETE", "/api/alerts/al_AAAAAAAAAAAAAAAAAAAAA1", null],
    ]);
    const headers = fetchMock.mock.calls[0][1]?.headers as Headers;
    expect(headers.get("Content-Type")).toBe("application/json");
  });

  it("refusals are ApiErrors naming the field (422) or the limit (409)", async () => {
    fetchMock.mockResolvedValueOnce(
      json(422, {
        error: { code: "validation_error", message: "invalid request: value", fields: { value: ["Not a number."] } },
      }),
    );
    const body = { product: "NIFTY", metric: "spot" as const, op: "above" as const, value: 1, cooldown_s: 300 };
    const refused = await rest.create(body).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 422, fields: { value: ["Not a number."] } });
    fetchMock.mockResolvedValueOnce(json(409, { error: { code: "alert_limit", message: "at most 20 alerts" } }));
    await expect(rest.create(body)).rejects.toMatchObject({ status: 409, code: "alert_limit" });
    fetchMock.mockResolvedValueOnce(json(201, { id: "al_x" }));
    await expect(rest.create(body)).rejects.toThrow("Unreadable answer from the server");
  });

  it("reads the history page by page with the previous page's cursor", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { triggers: [TRIGGER_DOC], next: "MjAyNnx4" }));
    const first = await rest.history();
    expect(first.next).toBe("MjAyNnx4");
    expect(first.triggers[0].value).toBe(0.2531);
    fetchMock.mockResolvedValueOnce(json(200, { triggers: [], next: null }));
    expect(await rest.history("a/b+c=")).toEqual({ triggers: [], next: null });
    expect([sent(0)[1], sent(1)[1]]).toEqual([
      "/api/alerts/history?limit=50",
      "/api/alerts/history?limit=50&cursor=a%2Fb%2Bc%3D",
    ]);
  });
});
