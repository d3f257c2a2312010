// The strategy builder: the quantity of new legs, the underlying's buy and sell, a template built
// around ATM, the legs table (side, option, strike, expiry, quantity and price as typed — the live
// mid by default, shown as the placeholder — and remove), the moments of extra curves, and what the
// builder says. A refused field's error sits under it (aria-describedby, aria-invalid): the local
// checks' and the service's 422, by the service's field names (`legs[2].price`, `dates[0]`).
import { liveChain } from "../alerts/draft";
import { formatsOfProduct } from "../alerts/text";
import { fmtExpiry, localToday, type Formats } from "../format";
import type { DashState } from "../state/model";
import type { FormState } from "../state/strategy";
import type { PaperIntents } from "../paper/controller";
import type { StrategyIntents } from "../strategy/controller";
import { legErrors, livePrice, type LegDraft } from "../strategy/legs";
import { MAX_DATES, type LegSide } from "../strategy/model";
import { KIND_LABEL, SIDE_LABEL } from "../strategy/text";
import { fillSelect, h, setText } from "../ui/dom";
import { TemplateForm, input, labelled, paperButton, underlyingButtons } from "./strategyForms";
import { panel, type View } from "./view";

/** One leg's row and its error line, kept while the leg lives (an input keeps its focus). */
class LegRow {
  readonly tr = h("tr", { class: "leg", "data-testid": "strategy-leg" });
  readonly errorRow = h("tr", { class: "leg-error-row", hidden: true });
  private readonly side = h("select", { "data-testid": "leg-side" });
  private readonly quantity = input({ "data-testid": "leg-quantity", inputmode: "decimal" });
  private readonly price = input({ "data-testid": "leg-price", inputmode: "decimal" });
  private readonly remove = h("button", { type: "button", class: "ghost danger", "data-testid": "leg-remove" }, "✕");
  private readonly error: HTMLElement;
  private readonly cells = {
    kind: h("td", { class: "leg-kind", "data-testid": "leg-type" }),
    strike: h("td", { class: "num leg-strike", "data-testid": "leg-strike" }),
    expiry: h("td", { class: "leg-expiry", "data-testid": "leg-expiry" }),
  };

  constructor(
    readonly key: number,
    intents: StrategyIntents,
  ) {
    this.tr.dataset.key = String(key);
    const id = `sb-leg${key}-error`;
    this.error = h("div", { class: "field-error", id, "data-testid": "strategy-leg-error" });
    this.errorRow.append(h("td", { colspan: 7 }, this.error));
    for (const control of [this.side, this.quantity, this.price]) control.setAttribute("aria-describedby", id);
    fillSelect(
      this.side,
      (["BUY", "SELL"] as const).map((x) => ({ value: x, label: SIDE_LABEL[x] })),
      null,
    );
    this.side.addEventListener("change", () => intents.changeLeg(key, { side: this.side.value as LegSide }));
    this.quantity.addEventListener("input", () => intents.changeLeg(key, { quantity: this.quantity.value }));
    this.price.addEventListener("input", () => intents.changeLeg(key, { price: this.price.value }));
    this.remove.addEventListener("click", () => intents.removeLeg(key));
    const { kind, strike, expiry } = this.cells;
    // `data-label` names a cell where a narrow screen lays the row out without the table's head.
    const qty = h("td", { class: "leg-qty", "data-label": "Qty" }, this.quantity);
    const price = h("td", { class: "leg-price", "data-label": "Price" }, this.price);
    this.tr.append(h("td", { class: "leg-side" }, this.side), kind, strike, expiry, qty, price);
    this.tr.append(h("td", { class: "leg-remove" }, this.remove));
  }

  draw(leg: LegDraft, i: number, s: DashState, f: Formats, today: string): void {
    const n = i + 1;
    this.tr.dataset.index = String(i);
    this.side.value = leg.side;
    this.side.setAttribute("aria-label", `Side of leg ${n}`);
    setText(this.cells.kind, leg.option_type ? KIND_LABEL[leg.option_type] : "Underlying");
    setText(this.cells.strike, leg.strike === null ? "—" : f.strike(leg.strike));
    setText(this.cells.expiry, leg.expiry ? fmtExpiry(leg.expiry, today).split(" · ")[0] : "—");
    if (this.quantity.value !== leg.quantity) this.quantity.value = leg.quantity;
    this.quantity.setAttribute("aria-label", `Quantity of leg ${n} (units of the underlying)`);
    if (this.price.value !== leg.price) this.price.value = leg.price;
    const live = livePrice(leg, liveChain(s), s.data.underlying?.price ?? null, s.strategy.result);
    const what = leg.option_type === null ? "spot" : "mid";
    this.price.placeholder = live === null ? `live ${what}` : `${what} ${f.price(live)}`;
    this.price.setAttribute("aria-label", `Price of leg ${n} per unit (empty: the live ${what})`);
    this.remove.setAttribute("aria-label", `Remove leg ${n}`);
    const { place } = s.paper; // the basket's refused fields, while the legs are those it sent
    const placed = place.version === s.strategy.version ? (place.outcome?.errors ?? {}) : {};
    const errors = { ...legErrors(placed, i), ...legErrors(s.strategy.errors, i) };
    const label: Record<string, string> = { quantity: "Quantity", price: "Price", side: "Side" };
    const lines = Object.entries(errors).map(([field, why]) => `${label[field] ?? field}: ${why}`);
    setText(this.error, lines.join(" · "));
    this.errorRow.hidden = lines.length === 0;
    for (const [name, control] of [
      ["quantity", this.quantity],
      ["price", this.price],
      ["side", this.side],
    ] as const) {
      if (errors[name]) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
  }
}

export class StrategyLegsView implements View {
  readonly el: HTMLElement;
  private readonly quantity = input({ "data-testid": "strategy-quantity", inputmode: "decimal" });
  private readonly quantityField = labelled("quantity", "Quantity per leg (units)", this.quantity);
  private readonly template: TemplateForm;
  private readonly tbody = h("tbody");
  private readonly table = h("table", { class: "legs", "data-testid": "strategy-legs", "data-count": "0" });
  private readonly empty = h(
    "p",
    { class: "strategy-empty", "data-testid": "strategy-empty" },
    "Add legs with B (buy) and S (sell) on the chain's rows, the underlying's buttons, or a template.",
  );
  private readonly dates = h("div", { class: "strategy-dates", "data-testid": "strategy-dates" });
  private readonly addDate = h(
    "button",
    { type: "button", class: "ghost", "data-testid": "strategy-add-date" },
    "+ Curve at a date",
  );
  private readonly message = h("div", { class: "form-error", role: "alert", "data-testid": "strategy-message" });
  private readonly rows = new Map<number, LegRow>();
  private readonly paper: HTMLButtonElement;
  private readonly outcome = h("div", {
    class: "paper-outcome",
    role: "status",
    "data-testid": "paper-outcome",
    hidden: true,
  });

  constructor(
    state: DashState,
    private readonly intents: StrategyIntents,
    paperIntents: PaperIntents,
  ) {
    this.template = new TemplateForm(intents);
    this.quantity.addEventListener("input", () => intents.setQuantity(this.quantity.value));
    this.addDate.addEventListener("click", () => intents.addDate());
    const toolbar = h("div", { class: "strategy-toolbar" }, this.quantityField.el, underlyingButtons(intents));
    const head = ["Side", "Option", "Strike", "Expiry", "Quantity", "Price", ""];
    this.table.append(h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { scope: "col" }, t)))), this.tbody);
    const clear = h("button", { type: "button", class: "ghost", "data-testid": "strategy-clear" }, "Clear");
    clear.addEventListener("click", () => intents.clear());
    this.paper = paperButton(paperIntents);
    const body = h(
      "div",
      { class: "strategy-builder" },
      toolbar,
      this.template.el,
      this.empty,
      h("div", { class: "legs-wrap" }, this.table),
      h(
        "div",
        { class: "strategy-dates-box" },
        h("span", { class: "label" }, "Curves at (UTC)"),
        this.dates,
        this.addDate,
      ),
      this.message,
      h("div", { class: "strategy-actions" }, this.paper),
      this.outcome,
    );
    const p = panel("Strategy builder", "strategy-builder", body, clear);
    p.el.dataset.testid = "strategy-builder";
    this.el = p.el;
    this.draw(state, null);
  }

  update(s: DashState, p: DashState): void {
    this.draw(s, p);
  }

  /** Redraw what differs from `p` (everything when null). */
  private draw(s: DashState, p: DashState | null): void {
    const a = s.strategy;
    const b = p?.strategy;
    if (this.quantity.value !== a.quantity && document.activeElement !== this.quantity)
      this.quantity.value = a.quantity;
    if (a.template !== b?.template) this.drawTemplate(a.template);
    if (s.products !== p?.products || s.selection !== p.selection) this.template.expiries(s);
    const prices = s.data.chain !== p?.data.chain || s.data.underlying !== p.data.underlying || a.result !== b?.result;
    const placed = s.paper.place !== p?.paper.place;
    if (a.legs !== b?.legs || a.errors !== b.errors || s.products !== p?.products || prices || placed) {
      this.drawLegs(s);
    }
    if (placed || a.legs !== b?.legs) this.drawPlace(s);
    if (a.dates !== b?.dates || a.errors !== b.errors || a.result !== b.result) this.drawDates(s);
    if (a.message !== b?.message || a.errors !== b.errors) {
      const whole = [a.message, a.errors.legs, a.errors.dates].filter(Boolean).join(" · ");
      setText(this.message, whole);
      this.message.hidden = !whole;
    }
  }

  /** The paper button (busy while a basket is sent) and what the placement came to. */
  private drawPlace(s: DashState): void {
    const { pending, outcome, version } = s.paper.place;
    this.paper.disabled = pending || s.strategy.legs.length === 0;
    this.paper.setAttribute("aria-busy", String(pending));
    setText(this.paper, pending ? "Placing…" : "Place as paper trade");
    // An outcome is of the legs it placed: edited since, it no longer speaks of them.
    const current = outcome && version === s.strategy.version ? outcome : null;
    setText(this.outcome, current?.text ?? "");
    this.outcome.hidden = !current;
    this.outcome.dataset.kind = current?.kind ?? "";
  }

  private drawTemplate(t: FormState): void {
    this.template.draw(t);
    this.quantityField.error.show(t.errors.quantity);
  }

  private drawLegs(s: DashState): void {
    const { legs } = s.strategy;
    const f = formatsOfProduct(s.products, legs[0]?.product ?? s.selection.product ?? "");
    const today = localToday();
    const keep = new Set(legs.map((l) => l.key));
    for (const [key, row] of this.rows) {
      if (keep.has(key)) continue;
      row.tr.remove();
      row.errorRow.remove();
      this.rows.delete(key);
    }
    let prev: Element | null = null;
    legs.forEach((leg, i) => {
      let row = this.rows.get(leg.key);
      if (!row) {
        row = new LegRow(leg.key, this.intents);
        this.rows.set(leg.key, row);
      }
      row.draw(leg, i, s, f, today);
      // In the legs' order, moving only what is out of place (a moved input loses its focus).
      for (const el of [row.tr, row.errorRow]) {
        const want: Element | null = prev ? prev.nextElementSibling : this.tbody.firstElementChild;
        if (want !== el) {
          if (prev) prev.after(el);
          else this.tbody.prepend(el);
        }
        prev = el;
      }
    });
    this.table.dataset.count = String(legs.length);
    this.table.hidden = legs.length === 0;
    this.empty.hidden = legs.length > 0;
  }

  private drawDates(s: DashState): void {
    const { dates, errors, result } = s.strategy;
    const end = result?.expires_at ? result.expires_at.slice(0, 16) : null;
    const shown = [...this.dates.querySelectorAll<HTMLInputElement>("input")];
    if (shown.length !== dates.length) this.dates.replaceChildren(...dates.map((_, j) => this.dateField(j)));
    this.dates.querySelectorAll<HTMLInputElement>("input").forEach((el, j) => {
      if (el.value !== dates[j] && document.activeElement !== el) el.value = dates[j];
      if (end) el.max = end;
      const line = this.dates.querySelector<HTMLElement>(`#sb-date${j}-error`);
      const why = errors[`dates[${j}]`];
      if (line) {
        setText(line, why ?? "");
        line.hidden = !why;
      }
      if (why) el.setAttribute("aria-invalid", "true");
      else el.removeAttribute("aria-invalid");
    });
    this.addDate.disabled = dates.length >= MAX_DATES || !end;
    this.addDate.title = end ? `Up to ${MAX_DATES} curves before the first expiry` : "Once the legs are evaluated";
  }

  private dateField(j: number): HTMLElement {
    const el = h("input", { type: "datetime-local", "data-testid": "strategy-date", step: "60" });
    el.id = `sb-date${j}`;
    el.setAttribute("aria-label", `Curve ${j + 1} at (UTC)`);
    el.setAttribute("aria-describedby", `sb-date${j}-error`);
    el.addEventListener("change", () => this.intents.setDate(j, el.value));
    const remove = h("button", { type: "button", class: "ghost danger", "data-testid": "strategy-date-remove" }, "✕");
    remove.setAttribute("aria-label", `Remove curve ${j + 1}`);
    remove.addEventListener("click", () => this.intents.removeDate(j));
    const error = h("div", {
      class: "field-error",
      id: `sb-date${j}-error`,
      "data-testid": "strategy-error-date",
      hidden: true,
    });
    return h("div", { class: "strategy-date" }, el, remove, error);
  }
}
