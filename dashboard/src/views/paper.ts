// The paper panel of the strategy page: the account per currency, the open positions with their
// live marks and P&L, the orders blotter (open limit orders with Cancel, then the recent filled,
// rejected and cancelled with their reasons) and the trade history (paged, exported as CSV). Amount
// cells carry the server's exact decimal string in `data-value`; the text is for reading.
import { formatsOfProduct } from "../alerts/text";
import { formatsFor, localToday, type Formats } from "../format";
import type { PaperIntents } from "../paper/controller";
import { dec, type PaperAccount, type PaperOrder, type PaperPosition, type PaperTrade } from "../paper/model";
import { STATE_LABEL, fillText, fillToastText, instrumentLabel, money, signedMoney, tone } from "../paper/text";
import type { DashState } from "../state/model";
import { splitOrders } from "../state/paper";
import { h, setText } from "../ui/dom";
import { panel, setNote, type View } from "./view";

/** Recent (not open) orders shown in the blotter. */
export const RECENT_ORDERS = 20;

type Cell = HTMLTableCellElement;

const text = (t: string, label: string, cls = ""): Cell => h("td", { class: cls, "data-label": label }, t);

/** An amount cell: the exact string in `data-value`, shown in the currency's format. */
function amount(v: string | null, f: Formats, label: string, field: string, signed = false): Cell {
  const shown = signed ? signedMoney(v, f) : money(v, f);
  const cls = `num ${signed ? tone(v) : ""}`.trim();
  return h("td", { class: cls, "data-label": label, "data-field": field, "data-value": v ?? "" }, shown);
}

function table(
  testid: string,
  caption: string,
  head: string[],
  rows: HTMLTableRowElement[],
  empty: string,
): HTMLElement {
  const t = h(
    "table",
    { class: "paper-table", "data-testid": testid, "data-count": String(rows.length) },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...head.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...rows),
  );
  const none = h("p", { class: "paper-empty", "data-testid": `${testid}-empty` }, empty);
  return h("div", { class: "paper-block" }, rows.length ? t : h("div", {}, h("h3", {}, caption), none));
}

function accountRow(a: PaperAccount): HTMLTableRowElement {
  const f = formatsFor(a.currency);
  return h(
    "tr",
    { "data-testid": "paper-account-row", "data-currency": a.currency },
    h("th", { scope: "row", "data-label": "Currency" }, a.currency),
    amount(a.cash, f, "Cash", "cash"),
    amount(a.margin_used, f, "Margin used", "margin_used"),
    amount(a.equity, f, "Equity", "equity"),
    amount(a.realized_pnl, f, "Realised P&L", "realized_pnl", true),
    amount(a.unrealized_pnl, f, "Unrealised P&L", "unrealized_pnl", true),
    amount(a.fees, f, "Fees", "fees"),
  );
}

function positionRow(p: PaperPosition, f: Formats, today: string): HTMLTableRowElement {
  const mark = p.mark === null ? "no quote" : f.price(dec(p.mark)) + (p.stale ? " (stale)" : "");
  return h(
    "tr",
    { "data-testid": "paper-position", "data-stale": String(p.stale) },
    h("th", { scope: "row", "data-label": "Instrument" }, instrumentLabel(p, f, today)),
    h(
      "td",
      { class: "num", "data-label": "Qty", "data-field": "quantity", "data-value": p.quantity },
      f.signedQty(dec(p.quantity)),
    ),
    h(
      "td",
      { class: "num", "data-label": "Avg cost", "data-field": "average_cost", "data-value": p.average_cost },
      f.price(dec(p.average_cost)),
    ),
    h("td", { class: "num", "data-label": "Mark", "data-field": "mark", "data-value": p.mark ?? "" }, mark),
    amount(p.value, f, "Value", "value"),
    amount(p.unrealized_pnl, f, "Unrealised P&L", "unrealized_pnl", true),
  );
}

function orderRow(o: PaperOrder, f: Formats, today: string, cancel: HTMLElement | null): HTMLTableRowElement {
  const limit = o.limit_price === null ? "Market" : `Limit ${f.price(dec(o.limit_price))}`;
  return h(
    "tr",
    {
      "data-testid": "paper-order",
      "data-state": o.state,
      "data-client-order-id": o.client_order_id,
      "data-order-id": o.id,
    },
    h("th", { scope: "row", "data-label": "Instrument" }, instrumentLabel(o, f, today)),
    text(o.side, "Side"),
    text(limit, "Type"),
    text(fillText(o, f), "Filled", "num"),
    text(STATE_LABEL[o.state], "State", "paper-state"),
    text(o.reason ?? "", o.reason ? "Reason" : "", "paper-reason"), // unlabelled when there is none
    h("td", { "data-label": "" }, cancel),
  );
}

function tradeRow(t: PaperTrade, f: Formats, today: string): HTMLTableRowElement {
  return h(
    "tr",
    { "data-testid": "paper-trade", "data-client-order-id": t.client_order_id ?? "", "data-kind": t.kind },
    h("th", { scope: "row", "data-label": "At (UTC)" }, t.at.replace("T", " ").slice(0, 19)),
    text(instrumentLabel(t, f, today), "Instrument"),
    text(t.kind === "SETTLEMENT" ? "Settled" : t.side, "Side"),
    h(
      "td",
      { class: "num", "data-label": "Qty", "data-field": "quantity", "data-value": t.quantity },
      f.qty(dec(t.quantity)),
    ),
    h(
      "td",
      { class: "num", "data-label": "Price", "data-field": "price", "data-value": t.price },
      f.price(dec(t.price)),
    ),
    amount(t.fee, f, "Fee", "fee"),
    text(t.client_order_id ?? "", "Order", "paper-cid"),
  );
}

export class PaperView implements View {
  readonly el: HTMLElement;
  private readonly note: HTMLElement;
  private readonly account = h("div", { "data-testid": "paper-account" });
  private readonly positions = h("div", { "data-testid": "paper-positions" });
  private readonly orders = h("div", { "data-testid": "paper-orders" });
  private readonly trades = h("div", { "data-testid": "paper-trades" });
  private readonly cancelNote = h("div", { class: "form-error", role: "alert", "data-testid": "paper-cancel-note" });
  private readonly more = h(
    "button",
    { type: "button", class: "ghost", "data-testid": "paper-trades-more" },
    "More trades",
  );

  constructor(private readonly intents: PaperIntents) {
    const exportCsv = h("button", { type: "button", class: "ghost", "data-testid": "paper-export" }, "Export CSV");
    exportCsv.setAttribute("aria-label", "Export the trade history as CSV");
    exportCsv.addEventListener("click", () => intents.exportCsv());
    this.more.addEventListener("click", () => intents.moreTrades());
    const body = h(
      "div",
      { class: "paper" },
      this.account,
      this.positions,
      this.orders,
      this.cancelNote,
      this.trades,
      this.more,
    );
    const p = panel("Paper trading", "paper", body, exportCsv);
    p.el.dataset.testid = "paper-panel";
    this.el = p.el;
    this.note = p.note;
  }

  update(s: DashState, p: DashState): void {
    const a = s.paper;
    const b = p.paper;
    if (a === b && s.products === p.products) return;
    const today = localToday();
    const f = formatsOfProduct(s.products, a.positions?.[0]?.product ?? s.selection.product ?? "");
    if (a.accounts !== b.accounts) this.drawAccount(a.accounts);
    if (a.positions !== b.positions || s.products !== p.products) this.drawPositions(a.positions, today);
    if (a.orders !== b.orders || a.cancelling !== b.cancelling) this.drawOrders(s, f, today);
    if (a.trades !== b.trades) {
      const rows = (a.trades ?? []).map((t) => tradeRow(t, f, today));
      const head = ["At (UTC)", "Instrument", "Side", "Qty", "Price", "Fee", "Order"];
      this.trades.replaceChildren(table("paper-trade-table", "Trade history", head, rows, "No trades yet."));
    }
    this.more.hidden = !a.tradesNext;
    setText(this.cancelNote, a.cancelNote ?? "");
    this.cancelNote.hidden = !a.cancelNote;
    setNote(this.note, a.note);
  }

  private drawAccount(accounts: PaperAccount[] | null): void {
    const head = ["Currency", "Cash", "Margin used", "Equity", "Realised P&L", "Unrealised P&L", "Fees"];
    const empty = accounts === null ? "Loading…" : "No paper account yet: place a trade to open one.";
    this.account.replaceChildren(
      table("paper-account-table", "Account", head, (accounts ?? []).map(accountRow), empty),
    );
  }

  private drawPositions(positions: PaperPosition[] | null, today: string): void {
    const rows = (positions ?? []).map((x) => positionRow(x, formatsFor(x.currency), today));
    const head = ["Instrument", "Qty", "Avg cost", "Mark", "Value", "Unrealised P&L"];
    this.positions.replaceChildren(table("paper-position-table", "Open positions", head, rows, "No open positions."));
  }

  private drawOrders(s: DashState, f: Formats, today: string): void {
    const { open, done } = splitOrders(s.paper.orders ?? []);
    const cancel = (o: PaperOrder) => {
      const busy = s.paper.cancelling.includes(o.id);
      const b = h(
        "button",
        { type: "button", class: "ghost danger", "data-testid": "paper-cancel", disabled: busy },
        busy ? "Cancelling…" : "Cancel",
      );
      b.setAttribute("aria-label", `Cancel the ${o.side} order on ${instrumentLabel(o, f, today)}`);
      b.addEventListener("click", () => this.intents.cancel(o.id));
      return b;
    };
    const head = ["Instrument", "Side", "Type", "Filled", "State", "Reason", ""];
    this.orders.replaceChildren(
      table(
        "paper-open-orders",
        "Open orders",
        head,
        open.map((o) => orderRow(o, f, today, cancel(o))),
        "No open orders.",
      ),
      table(
        "paper-recent-orders",
        "Recent orders",
        head,
        done.slice(0, RECENT_ORDERS).map((o) => orderRow(o, f, today, null)),
        "No orders yet.",
      ),
    );
  }
}

/** The toasts of resting orders that filled, beside the alerts' toasts (in their region). */
export class PaperToastsView implements View {
  private readonly shown = new Map<string, HTMLElement>();

  constructor(
    private readonly region: HTMLElement,
    private readonly intents: PaperIntents,
  ) {}

  update(s: DashState, p: DashState): void {
    if (s.paper.toasts === p.paper.toasts) return;
    const ids = new Set(s.paper.toasts.map((t) => t.id));
    for (const [id, el] of this.shown) {
      if (ids.has(id)) continue;
      el.remove();
      this.shown.delete(id);
    }
    for (const t of s.paper.toasts) {
      if (this.shown.has(t.id)) continue;
      const line = fillToastText(t.order, formatsOfProduct(s.products, t.order.product), localToday());
      const close = h("button", { type: "button", class: "toast-close", "aria-label": `Dismiss: ${line}` }, "×");
      close.addEventListener("click", () => this.intents.closeToast(t.id));
      const el = h(
        "div",
        { class: "toast", "data-testid": "paper-toast", "data-order-id": t.order.id },
        h("div", { class: "toast-title" }, "Paper order filled"),
        h("div", { class: "toast-values" }, line),
        close,
      );
      this.shown.set(t.id, el);
      this.region.append(el);
    }
  }
}
