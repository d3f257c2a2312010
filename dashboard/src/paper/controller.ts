// The paper side of a signed-in session: places the strategy's legs as one basket (ids made once
// per click and kept for the same legs, so a second click or a retry answers the orders already
// placed), reads the account, positions, orders and trade history while the strategy page shows
// them (again every POLL_MS: the marks move with the chains, and soon after each paper event),
// cancels open orders and exports the history as CSV. Every request ends with the session.
import { describeError } from "../auth";
import type { Action, DashState } from "../state/model";
import type { Store } from "../state/store";
import { basketBody, newOrderIds, placedOutcome, refusedOutcome } from "./basket";
import type { PaperAccount, PaperOrder } from "./model";
import type { CsvFile, PaperRest } from "./rest";

export type PaperApi = Pick<
  PaperRest,
  "placeBasket" | "orders" | "cancel" | "positions" | "accounts" | "trades" | "tradesCsv"
>;

/** What the paper views ask for. */
export interface PaperIntents {
  /** Place the strategy's legs as one paper basket. */
  place(): void;
  cancel(orderId: string): void;
  moreTrades(): void;
  exportCsv(): void;
  closeToast(id: string): void;
}

export interface PaperDeps {
  store: Store<DashState, Action>;
  rest: PaperApi;
  now(): number;
  random(): number;
  /** Hand a downloaded file to the browser. */
  save(file: CsvFile): void;
}

/** The account and positions are read again this often while shown (ms). */
export const POLL_MS = 5_000;
/** A paper event is followed by a read this soon (events in one burst share it) (ms). */
export const EVENT_READ_MS = 300;
export const ORDERS_PAGE = 50;
export const TRADES_PAGE = 20;
/** Rows of the CSV export at most (the route's page). */
export const CSV_ROWS = 200;

export class PaperController implements PaperIntents {
  private readonly lifetime = new AbortController();
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private eventTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private unsubscribe: () => void = () => {};

  constructor(private readonly deps: PaperDeps) {}

  start(): void {
    this.unsubscribe = this.deps.store.subscribe((s, p) => {
      if (s.selection.page === "strategy" && p.selection.page !== "strategy") this.readAll(true);
    });
    if (this.deps.store.state.selection.page === "strategy") this.readAll(true);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.lifetime.abort();
    for (const t of [this.pollTimer, this.eventTimer]) if (t) clearTimeout(t);
  }

  place(): void {
    const { strategy, paper } = this.deps.store.state;
    if (paper.place.pending) return; // a double click: the first is under way
    const { legs, version } = strategy;
    const gen = paper.gen;
    const keep = paper.place.version === version && paper.place.ids.length === legs.length;
    // The same legs keep their ids (a retry or another click answers the same orders), unless the
    // basket was rejected: it placed nothing, and the next click is a new try.
    const ids =
      keep && paper.place.outcome?.kind !== "rejected"
        ? paper.place.ids
        : newOrderIds(legs.length, () => this.deps.random(), this.deps.now());
    this.dispatch({ type: "paperPlaceAsked", gen, version, ids });
    const checked = basketBody(legs, ids);
    if ("errors" in checked) {
      const text = checked.errors.legs ?? "Not placed: see the legs marked";
      this.dispatch({
        type: "paperPlaceFailed",
        gen,
        version,
        outcome: { kind: "refused", text, errors: checked.errors },
      });
      return;
    }
    this.deps.rest.placeBasket(checked.body, this.lifetime.signal).then(
      (orders) => {
        this.dispatch({ type: "paperPlaced", gen, version, orders, outcome: placedOutcome(orders) });
        if (gen === this.deps.store.state.paper.gen) this.readAll(false);
      },
      (err: unknown) => this.dispatch({ type: "paperPlaceFailed", gen, version, outcome: refusedOutcome(err) }),
    );
  }

  cancel(orderId: string): void {
    const { gen, cancelling } = this.deps.store.state.paper;
    if (cancelling.includes(orderId)) return;
    this.dispatch({ type: "paperCancelAsked", gen, id: orderId });
    this.deps.rest.cancel(orderId, this.lifetime.signal).then(
      (order) => {
        this.dispatch({ type: "paperCancelled", gen, order });
        if (gen === this.deps.store.state.paper.gen) this.readAll(false);
      },
      (err: unknown) => {
        this.dispatch({ type: "paperCancelFailed", gen, id: orderId, note: `Not cancelled: ${describeError(err)}` });
        this.readAll(false);
      },
    );
  }

  moreTrades(): void {
    const { gen, tradesNext } = this.deps.store.state.paper;
    if (!tradesNext) return;
    this.deps.rest.trades(TRADES_PAGE, tradesNext, this.lifetime.signal).then(
      (page) => this.dispatch({ type: "paperTradesLoaded", gen, trades: page.items, next: page.next, more: true }),
      (err: unknown) => this.failed(gen, err),
    );
  }

  exportCsv(): void {
    const { gen } = this.deps.store.state.paper;
    this.deps.rest.tradesCsv(CSV_ROWS, this.lifetime.signal).then(
      (file) => this.deps.save(file),
      (err: unknown) => this.failed(gen, err),
    );
  }

  closeToast(id: string): void {
    this.dispatch({ type: "paperToastClosed", id });
  }

  /** An order_update from the socket: shown at once, the rest read soon after. */
  orderEvent(order: PaperOrder): void {
    this.dispatch({ type: "paperOrderEvent", order, now: this.deps.now() });
    this.soon();
  }

  accountEvent(account: PaperAccount): void {
    this.dispatch({ type: "paperAccountEvent", account });
    this.soon();
  }

  /** A position_update: its marks and P&L come from the positions route. */
  positionEvent(): void {
    this.soon();
  }

  private soon(): void {
    if (this.eventTimer || this.stopped) return;
    this.eventTimer = setTimeout(() => {
      this.eventTimer = null;
      if (!this.stopped) this.readAll(false);
    }, EVENT_READ_MS);
  }

  /** Read the account, positions, orders and the history's first page; while the page shows them,
   * again after POLL_MS (`poll` starts that loop; other reads leave it running). */
  private readAll(poll: boolean): void {
    if (this.stopped) return;
    const { rest } = this.deps;
    const { gen } = this.deps.store.state.paper;
    const signal = this.lifetime.signal;
    const fail = (err: unknown) => this.failed(gen, err);
    rest.accounts(signal).then((accounts) => this.dispatch({ type: "paperAccountsLoaded", gen, accounts }), fail);
    rest.positions(signal).then((positions) => this.dispatch({ type: "paperPositionsLoaded", gen, positions }), fail);
    rest
      .orders(null, ORDERS_PAGE, signal)
      .then((page) => this.dispatch({ type: "paperOrdersLoaded", gen, orders: page.items }), fail);
    rest
      .trades(TRADES_PAGE, null, signal)
      .then((p) => this.dispatch({ type: "paperTradesLoaded", gen, trades: p.items, next: p.next, more: false }), fail);
    if (poll) this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      if (!this.stopped && this.deps.store.state.selection.page === "strategy") this.readAll(true);
    }, POLL_MS);
  }

  private failed(gen: number, err: unknown): void {
    if (!this.lifetime.signal.aborted)
      this.dispatch({ type: "paperReadFailed", gen, note: `Paper: ${describeError(err)}` });
  }

  private dispatch(action: Action): void {
    if (!this.stopped) this.deps.store.dispatch(action);
  }
}

/** PaperIntents that call the controller `get()` returns when asked (built before it). */
export function lazyPaperIntents(get: () => PaperIntents): PaperIntents {
  return {
    place: () => get().place(),
    cancel: (id) => get().cancel(id),
    moreTrades: () => get().moreTrades(),
    exportCsv: () => get().exportCsv(),
    closeToast: (id) => get().closeToast(id),
  };
}

/** Hand a file to the browser's downloads (an object URL clicked, then revoked). */
export function saveBlob(file: CsvFile): void {
  const url = URL.createObjectURL(file.blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = file.filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}
