import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from "vitest";
import { ApiError } from "../auth";
import { parseHash } from "../hash";
import { initialState, type Action, type DashState } from "../state/model";
import { reduce } from "../state/reducer";
import { Store } from "../state/store";
import { PRODUCTS, TODAY } from "../test/fixtures";
import { ACCOUNT_DOC, POSITION_DOC, orderDoc, straddleBasket } from "../test/paper";
import type { BasketBody } from "./basket";
import { EVENT_READ_MS, POLL_MS, PaperController, type PaperApi } from "./controller";
import { parseAccount, parseAccounts, parseBasket, parseOrder, parsePositions, type PaperOrder } from "./model";

function pending<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};
const NOW = Date.parse("2026-11-21T10:00:00.000Z");
const FILLED = parseBasket(straddleBasket())!;

describe("PaperController", () => {
  let store: Store<DashState, Action>;
  let api: { [K in keyof PaperApi]: Mock<PaperApi[K]> };
  let placements: ReturnType<typeof pending<PaperOrder[]>>[];
  let controller: PaperController;
  const bodies = () => api.placeBasket.mock.calls.map((c): BasketBody => c[0]);
  const addStraddle = () => {
    for (const kind of ["CALL", "PUT"] as const) {
      store.dispatch({
        type: "strategyLegAdded",
        leg: { product: "NIFTY", expiry: "2026-11-26", strike: 24000, option_type: kind, side: "BUY" },
      });
    }
    store.dispatch({ type: "strategyQuantitySet", quantity: "75" });
    for (const l of store.state.strategy.legs)
      store.dispatch({ type: "strategyLegChanged", key: l.key, patch: { quantity: "75" } });
  };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const selection = parseHash("#page=strategy&product=NIFTY&expiry=2026-11-26");
    store = new Store(reduce, initialState(selection));
    store.dispatch({ type: "signedIn", username: "alice", selection });
    store.dispatch({ type: "productsListed", products: PRODUCTS, today: TODAY });
    placements = [];
    api = {
      placeBasket: vi.fn<PaperApi["placeBasket"]>(() => {
        const p = pending<PaperOrder[]>();
        placements.push(p);
        return p.promise;
      }),
      orders: vi.fn<PaperApi["orders"]>(() => Promise.resolve({ items: FILLED, next: null })),
      cancel: vi.fn<PaperApi["cancel"]>(),
      positions: vi.fn<PaperApi["positions"]>(() => Promise.resolve(parsePositions({ positions: [POSITION_DOC] }))),
      accounts: vi.fn<PaperApi["accounts"]>(() => Promise.resolve(parseAccounts({ accounts: [ACCOUNT_DOC] }))),
      trades: vi.fn<PaperApi["trades"]>(() => Promise.resolve({ items: FILLED.flatMap((o) => o.fills), next: "c2" })),
      tradesCsv: vi.fn<PaperApi["tradesCsv"]>(),
    };
    let r = 0;
    controller = new PaperController({
      store,
      rest: api,
      now: () => NOW,
      random: () => (r += 0.125),
      save: () => {},
    });
    controller.start();
  });
  afterEach(() => {
    controller.stop();
    vi.useRealTimers();
  });

  it("reads the account, positions, orders and trades when the page shows, again every POLL_MS", async () => {
    await settle();
    const p = store.state.paper;
    expect(p.accounts?.[0].cash).toBe("983585.55");
    expect(p.positions?.[0].unrealized_pnl).toBe("-37.50");
    expect(p.orders).toHaveLength(2);
    expect(p.trades?.map((t) => t.fee)).toEqual(["4.52", "3.68"]);
    expect(p.tradesNext).toBe("c2");
    expect(api.accounts).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(POLL_MS);
    expect(api.accounts).toHaveBeenCalledTimes(2);
    store.dispatch({ type: "selected", requested: parseHash("#product=NIFTY&expiry=2026-11-26"), today: TODAY });
    vi.advanceTimersByTime(POLL_MS * 3);
    expect(api.accounts).toHaveBeenCalledTimes(2); // not while the page is hidden
  });

  it("places the legs once however often clicked, and a retry of the same legs sends the same ids", async () => {
    addStraddle();
    controller.place();
    controller.place(); // a double click while the first is sent
    expect(api.placeBasket).toHaveBeenCalledTimes(1);
    expect(store.state.paper.place.pending).toBe(true);
    const ids = bodies()[0].legs.map((l) => l.client_order_id);
    expect(ids).toHaveLength(2);
    expect(ids[0].endsWith("-1") && ids[1].endsWith("-2")).toBe(true);
    expect(bodies()[0].legs.map((l) => [l.option_type, l.quantity])).toEqual([
      ["CALL", "75"],
      ["PUT", "75"],
    ]);
    placements[0].reject(new ApiError(503, "unavailable", "down"));
    await settle();
    expect(store.state.paper.place).toMatchObject({ pending: false, outcome: { kind: "failed" } });
    controller.place(); // the retry: the same ids
    expect(bodies()[1].legs.map((l) => l.client_order_id)).toEqual(ids);
    placements[1].resolve(FILLED);
    await settle();
    expect(store.state.paper.place.outcome?.kind).toBe("filled");
    controller.place(); // again: the same ids, answered with the same orders
    expect(bodies()[2].legs.map((l) => l.client_order_id)).toEqual(ids);
  });

  it("makes new ids after the legs change, and after a rejected basket", async () => {
    addStraddle();
    controller.place();
    const first = bodies()[0].legs.map((l) => l.client_order_id);
    placements[0].resolve(parseBasket(straddleBasket("REJECTED", "legs[0]: insufficient buying power"))!);
    await settle();
    expect(store.state.paper.place.outcome).toMatchObject({ kind: "rejected" });
    controller.place();
    const second = bodies()[1].legs.map((l) => l.client_order_id);
    expect(second).not.toEqual(first);
    placements[1].resolve(FILLED);
    await settle();
    const key = store.state.strategy.legs[0].key;
    store.dispatch({ type: "strategyLegChanged", key, patch: { quantity: "150" } });
    controller.place();
    expect(bodies()[2].legs.map((l) => l.client_order_id)).not.toEqual(second);
    expect(bodies()[2].legs[0].quantity).toBe("150");
  });

  it("puts a refused field under its leg without asking the service", () => {
    addStraddle();
    const key = store.state.strategy.legs[1].key;
    store.dispatch({ type: "strategyLegChanged", key, patch: { quantity: "0" } });
    controller.place();
    expect(api.placeBasket).not.toHaveBeenCalled();
    expect(store.state.paper.place).toMatchObject({
      pending: false,
      outcome: { kind: "refused", errors: { "legs[1].quantity": "A quantity above 0" } },
    });
  });

  it("drops a placement's answer that arrives after a sign-out", async () => {
    addStraddle();
    controller.place();
    store.dispatch({ type: "signedOut", reason: null });
    placements[0].resolve(FILLED);
    await settle();
    expect(store.state.paper.place.outcome).toBeNull();
    expect(store.state.paper.orders).toBeNull();
  });

  it("follows events: the order at once, one read of the rest soon after a burst", async () => {
    await settle();
    const calls = api.positions.mock.calls.length;
    const resting = parseOrder(
      orderDoc({
        id: "po_LIMITxxxxxxxxxxxxxxxxx",
        type: "LIMIT",
        limit_price: "100",
        state: "FILLED",
        updated_at: "2026-11-26T09:20:00.000Z", // filled by the workers after it rested
      }),
    )!;
    controller.orderEvent(resting);
    controller.positionEvent();
    controller.accountEvent(parseAccount({ ...ACCOUNT_DOC, cash: "990000.00", equity: undefined })!);
    expect(store.state.paper.orders?.[0].id).toBe("po_LIMITxxxxxxxxxxxxxxxxx");
    expect(store.state.paper.toasts.map((t) => t.id)).toEqual(["po_LIMITxxxxxxxxxxxxxxxxx:75"]);
    expect(store.state.paper.accounts?.[0]).toMatchObject({ cash: "990000.00", equity: "999950.30" });
    vi.advanceTimersByTime(EVENT_READ_MS);
    expect(api.positions.mock.calls.length).toBe(calls + 1);
  });

  it("cancels an order once while asked, and says why one was not", async () => {
    const open = parseOrder(
      orderDoc({ id: "po_OPENxxxxxxxxxxxxxxxxxx", type: "LIMIT", limit_price: "100", state: "NEW" }),
    )!;
    const done = pending<PaperOrder>();
    api.cancel
      .mockReturnValueOnce(done.promise)
      .mockRejectedValueOnce(new ApiError(409, "order_not_open", "It no longer rests"));
    controller.cancel(open.id);
    controller.cancel(open.id);
    expect(api.cancel).toHaveBeenCalledTimes(1);
    const cancelled: PaperOrder = { ...open, state: "CANCELLED", reason: "cancelled by its owner" };
    api.orders.mockResolvedValue({ items: [cancelled], next: null }); // what the blotter reads after it
    done.resolve(cancelled);
    await settle();
    expect(store.state.paper.orders?.find((o) => o.id === open.id)?.state).toBe("CANCELLED");
    controller.cancel(open.id);
    await settle();
    expect(store.state.paper.cancelNote).toBe("Not cancelled: It no longer rests");
    expect(store.state.paper.cancelling).toEqual([]);
  });

  it("pages the trade history on", async () => {
    await settle();
    controller.moreTrades();
    await settle();
    expect(api.trades.mock.calls.at(-1)?.[1]).toBe("c2");
    expect(store.state.paper.trades).toHaveLength(4);
  });
});
