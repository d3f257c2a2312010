import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../auth";
import { type FetchMock, json, restoreFetch, sentBy, signedIn } from "../test/restClient";
import { CONDOR_LEGS, condorAnswer, savedDoc } from "../test/strategy";
import { StrategyRest } from "./rest";

describe("StrategyRest", () => {
  let fetchMock: FetchMock;
  let rest: StrategyRest;
  /** [method, path, JSON body, Authorization] of the n-th request. */
  const sent = (n: number) => sentBy(fetchMock, n);

  beforeEach(async () => {
    const signed = await signedIn();
    fetchMock = signed.fetchMock;
    rest = new StrategyRest(signed.auth);
  });
  afterEach(restoreFetch);

  it("posts the legs and dates for an evaluation, with the access token", async () => {
    fetchMock.mockResolvedValueOnce(json(200, condorAnswer()));
    const e = await rest.evaluate({ legs: CONDOR_LEGS, dates: ["2026-11-24T10:00:00.000Z"] });
    expect(e.max_loss).toBe(3525);
    expect(sent(0)).toEqual([
      "POST",
      "/api/strategies/evaluate",
      { legs: CONDOR_LEGS, dates: ["2026-11-24T10:00:00.000Z"] },
      "Bearer a1",
    ]);
  });

  it("throws the 422 naming the field, and refuses an unreadable answer", async () => {
    const body = { error: { code: "invalid", message: "invalid", fields: { "legs[2].strike": ["not listed"] } } };
    fetchMock.mockResolvedValueOnce(json(422, body));
    const err = (await rest.evaluate({ legs: CONDOR_LEGS, dates: [] }).catch((e: unknown) => e)) as ApiError;
    expect([err.status, err.fields]).toEqual([422, { "legs[2].strike": ["not listed"] }]);
    fetchMock.mockResolvedValueOnce(json(200, { product: "NIFTY" }));
    await expect(rest.evaluate({ legs: CONDOR_LEGS, dates: [] })).rejects.toThrow("Unreadable answer from the server");
  });

  it("asks for a template by its query, the type and far expiry only when given", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { legs: CONDOR_LEGS }));
    const legs = await rest.template("NIFTY", { name: "iron_condor", expiry: "2026-11-26", quantity: 75, width: 1 });
    expect(legs).toEqual(CONDOR_LEGS);
    expect(sent(0).slice(0, 2)).toEqual([
      "GET",
      "/api/strategies/templates/NIFTY?name=iron_condor&expiry=2026-11-26&quantity=75&width=1",
    ]);
    fetchMock.mockResolvedValueOnce(json(200, { legs: CONDOR_LEGS.slice(0, 2) }));
    const query = { name: "calendar", expiry: "2026-11-26", quantity: 1.5, width: 2, option_type: "PUT" } as const;
    await rest.template("BANK NIFTY", { ...query, far_expiry: "2026-12-31" });
    expect(sent(1)[1]).toBe(
      "/api/strategies/templates/BANK%20NIFTY?name=calendar&expiry=2026-11-26&quantity=1.5&width=2&option_type=PUT&far_expiry=2026-12-31",
    );
    fetchMock.mockResolvedValueOnce(json(200, { legs: [] }));
    await expect(rest.template("NIFTY", query)).rejects.toThrow("Unreadable answer from the server");
  });

  it("lists, creates, replaces and deletes saved strategies", async () => {
    fetchMock.mockResolvedValueOnce(json(200, { strategies: [savedDoc("st_1", "Condor")] }));
    expect((await rest.list()).map((s) => s.name)).toEqual(["Condor"]);
    fetchMock.mockResolvedValueOnce(json(201, savedDoc("st_2", "Wide")));
    expect((await rest.create({ name: "Wide", legs: CONDOR_LEGS })).id).toBe("st_2");
    fetchMock.mockResolvedValueOnce(json(200, savedDoc("st_2", "Wide")));
    await rest.replace("st_2", { name: "Wide", legs: CONDOR_LEGS.slice(0, 2) });
    fetchMock.mockResolvedValueOnce(json(204, null));
    await rest.remove("st/2");
    expect([0, 1, 2, 3].map((n) => sent(n).slice(0, 3))).toEqual([
      ["GET", "/api/strategies", null],
      ["POST", "/api/strategies", { name: "Wide", legs: CONDOR_LEGS }],
      ["PUT", "/api/strategies/st_2", { name: "Wide", legs: CONDOR_LEGS.slice(0, 2) }],
      ["DELETE", "/api/strategies/st%2F2", null],
    ]);
  });
});
