import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../auth";
import { type FetchMock, json, restoreFetch, sentBy, signedIn } from "../test/restClient";
import { ACCOUNT_DOC, POSITION_DOC, straddleBasket } from "../test/paper";
import { PaperRest } from "./rest";

describe("PaperRest", () => {
  let fetchMock: FetchMock;
  let rest: PaperRest;
  /** [method, path, JSON body, Authorization] of the n-th request. */
  const sent = (n: number) => sentBy(fetchMock, n);

  beforeEach(async () => {
    const signed = await signedIn();
    fetchMock = signed.fetchMock;
    rest = new PaperRest(signed.auth);
  });
  afterEach(restoreFetch);

  it("posts a basket with the token and reads its orders", async () => {
    fetchMock.mockResolvedValueOnce(json(201, straddleBasket()));
    const legs = [
      {
        client_order_id: "a-1",
        product: "NIFTY",
        expiry: "2026-11-26",
        strike: 24000,
        option_type: "CALL" as const,
        side: "BUY" as const,
        quantity: "75",
      },
    ];
    const orders = await rest.placeBasket({ legs });
    expect(sent(0)).toEqual(["POST", "/api/paper/baskets", { legs }, "Bearer a1"]);
    expect(orders.map((o) => o.average_price)).toEqual(["120.50000000", "98.25000000"]);
  });

  it("passes a stale market on as an ApiError with its code", async () => {
    const body = {
      error: { code: "stale_market", message: "the chain is stale", fields: { "legs[0].expiry": ["stale"] } },
    };
    fetchMock.mockResolvedValueOnce(json(409, body));
    const err = await rest.placeBasket({ legs: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: "stale_market" });
  });

  it("reads orders by state, positions, accounts and a trades page", async () => {
    fetchMock
      .mockResolvedValueOnce(json(200, { orders: straddleBasket().orders, next: null }))
      .mockResolvedValueOnce(json(200, { positions: [POSITION_DOC] }))
      .mockResolvedValueOnce(json(200, { accounts: [ACCOUNT_DOC] }))
      .mockResolvedValueOnce(json(200, { trades: [], next: "n2" }));
    expect((await rest.orders("NEW", 50)).items).toHaveLength(2);
    expect((await rest.positions())[0].mark).toBe("120");
    expect((await rest.accounts())[0].equity).toBe("999950.30");
    expect(await rest.trades(20, "c1")).toEqual({ items: [], next: "n2" });
    expect(fetchMock.mock.calls.map((c) => c[0])).toEqual([
      "/api/paper/orders?state=NEW&limit=50",
      "/api/paper/positions",
      "/api/paper/account",
      "/api/paper/trades?limit=20&cursor=c1",
    ]);
  });

  it("cancels with DELETE", async () => {
    const [doc] = straddleBasket("CANCELLED", "cancelled by its owner").orders;
    fetchMock.mockResolvedValueOnce(json(200, doc));
    expect((await rest.cancel("po_CALLxxxxxxxxxxxxxxxxxx")).state).toBe("CANCELLED");
    expect(sent(0).slice(0, 2)).toEqual(["DELETE", "/api/paper/orders/po_CALLxxxxxxxxxxxxxxxxxx"]);
  });

  it("fetches the CSV with the Bearer header and the server's file name", async () => {
    const csv = "at,price\n2026-11-21T09:41:00.120Z,120.5\n";
    fetchMock.mockResolvedValueOnce(
      new Response(csv, { status: 200, headers: { "Content-Disposition": 'attachment; filename="paper-trades.csv"' } }),
    );
    const file = await rest.tradesCsv(200);
    expect(await file.blob.text()).toBe(csv);
    expect(file.filename).toBe("paper-trades.csv");
    expect(sent(0)).toEqual(["GET", "/api/paper/trades.csv?limit=200", null, "Bearer a1"]);
    fetchMock.mockResolvedValueOnce(new Response("no", { status: 503 }));
    await expect(rest.tradesCsv(200)).rejects.toThrow("Export failed (HTTP 503)");
  });
});
