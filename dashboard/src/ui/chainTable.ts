// The option chain: calls | strike | puts, one row per strike (data-strike), ATM row highlighted,
// ITM cells shaded (calls below the forward, puts above; spot when the chain has no forward), a changed value flashing up or down. Numbers in
// the chain's currency (formatsFor); the venue's mark IV beside OptionsFlow's IV when the chain
// carries it (the column is hidden otherwise). On the strategy page each side has buy and sell
// buttons beside the strike that add the option as a leg (the columns are hidden otherwise).
import type { LegSide, OptionKind } from "../strategy/model";
import { atmStrike, isItm, moneyLevel, strikeWindow } from "../chain";
import { DASH, buildupInfo, fmtIvPct, fmtNum, formatsFor, num, type Formats } from "../format";
import type { ChainRow, EnrichedChain } from "../types";
import { h } from "./dom";
import { bellIcon } from "./icons";

type Side = "call" | "put";

interface Column {
  key: string;
  label: string;
  title: string;
  /** Flash on change: quotes, trades and OI. IV and delta move with every spot tick, so they
   *  would flash on every update and drown the signal. */
  flash: boolean;
  /** Text of the cell in formats `f`, and the number compared to flash it (null: never flashes). */
  cell(row: ChainRow | undefined, f: Formats): { text: string; value: number | null; tone?: string; title?: string };
}

const col = (key: string, label: string, title: string, cell: Column["cell"], flash = true): Column => ({
  key,
  label,
  title,
  cell,
  flash,
});

const signTone = (v: number | null) => (v === null || v === 0 ? undefined : v > 0 ? "pos" : "neg");

/** Columns of one side, from the strike outwards. */
const COLUMNS: Column[] = [
  col("ltp", "LTP", "Last traded price", (r, f) => ({ text: f.price(r?.last), value: num(r?.last) || null })),
  col("bidask", "Bid / Ask", "Best bid (top) and ask (bottom)", (r, f) => ({
    text: `${f.price(r?.bid)}\n${f.price(r?.ask)}`,
    value: num(r?.bid) !== null && num(r?.ask) !== null ? (r!.bid + r!.ask) / 2 || null : null,
  })),
  col(
    "iv",
    "IV %",
    "Implied volatility, % a year (OptionsFlow's, from the mid)",
    (r) => ({ text: fmtIvPct(r?.iv), value: num(r?.iv) }),
    false,
  ),
  col(
    "markiv",
    "Mark IV %",
    "The venue's IV of its mark price, % a year",
    (r) => ({ text: fmtIvPct(r?.mark_iv), value: num(r?.mark_iv) }),
    false,
  ),
  col(
    "delta",
    "Delta",
    "Delta per unit of underlying",
    (r) => ({ text: fmtNum(r?.delta, 2), value: num(r?.delta) }),
    false,
  ),
  col("volume", "Volume", "Traded today: contracts (NSE), coins over 24 h (Deribit)", (r, f) => ({
    text: f.qty(r?.volume),
    value: num(r?.volume),
  })),
  col("oichg", "OI Chg", "OI change since the previous snapshot", (r, f) => {
    const v = num(r?.oi_change);
    return { text: f.signedQty(v), value: v, tone: signTone(v) };
  }),
  col("oi", "OI", "Open interest: contracts (NSE), coins (Deribit)", (r, f) => ({
    text: f.qty(r?.oi),
    value: num(r?.oi),
  })),
  col(
    "buildup",
    "B/U",
    "Buildup: how price and OI moved since the previous snapshot (LB long buildup, SB short buildup, SC short covering, LU long unwinding)",
    (r) => {
      const b = buildupInfo(r?.buildup);
      return { text: b ? b.short : DASH, value: null, tone: b ? `bu-${b.tone}` : undefined, title: b?.label };
    },
    false,
  ),
];

const CALL_COLS = [...COLUMNS].reverse(); // calls read outwards to the left

/** Whether any row of the chain carries the venue's mark IV. */
export function hasMarkIv(chain: Pick<EnrichedChain, "calls" | "puts">): boolean {
  return chain.calls.some((r) => num(r?.mark_iv) !== null) || chain.puts.some((r) => num(r?.mark_iv) !== null);
}

interface RowView {
  tr: HTMLTableRowElement;
  strikeCell: HTMLTableCellElement;
  cells: { side: Side; col: Column; td: HTMLTableCellElement; last: number | null; text: string }[];
}

export class ChainTable {
  readonly el: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly empty: HTMLElement;
  private rows = new Map<number, RowView>();
  private key = ""; // product|expiry|currency the rows belong to
  private centred = false;
  private readonly groupHeads: HTMLTableCellElement[];
  private showMark: boolean | null = null;
  width: number | null = null;
  /** A strike's bell was pressed (the bells show only when set). */
  onAlert: ((strike: number) => void) | null = null;
  /** A strike's buy or sell button was pressed (the buttons exist only when set). */
  onLeg: ((strike: number, kind: OptionKind, side: LegSide) => void) | null = null;
  private showLegs = false;

  constructor() {
    this.groupHeads = [
      h("th", { colspan: COLUMNS.length, class: "calls-head" }, "CALLS ◂"),
      h("th", { colspan: COLUMNS.length, class: "puts-head" }, "▸ PUTS"),
    ];
    const head1 = h(
      "tr",
      { class: "group" },
      this.groupHeads[0],
      h("th", { class: "strike-head" }, ""),
      this.groupHeads[1],
    );
    const th = (c: Column, side: Side) =>
      h("th", { title: c.title, class: `c-${c.key} ${side}`, scope: "col" }, c.label);
    const legHead = (side: Side) =>
      h("th", { class: `c-leg ${side}`, scope: "col", title: `Buy or sell the ${side} as a strategy leg` }, "Leg");
    const head2 = h(
      "tr",
      {},
      ...CALL_COLS.map((c) => th(c, "call")),
      legHead("call"),
      h("th", { class: "strike", scope: "col" }, "Strike"),
      legHead("put"),
      ...COLUMNS.map((c) => th(c, "put")),
    );
    this.tbody = h("tbody");
    this.table = h(
      "table",
      { class: "chain", "data-testid": "chain-table", "data-legs": "false" },
      h("thead", {}, head1, head2),
      this.tbody,
    );
    this.empty = h("div", { class: "empty", "data-testid": "chain-empty" }, "Waiting for the option chain…");
    this.el = h("div", { class: "table-wrap" }, this.table, this.empty);
    this.tbody.addEventListener("click", (ev) => {
      const bell = (ev.target as Element).closest<HTMLElement>("button[data-alert-strike]");
      if (bell && this.onAlert) this.onAlert(Number(bell.dataset.alertStrike));
      const leg = (ev.target as Element).closest<HTMLElement>("button[data-leg-side]");
      const { legSide, legKind, strike } = leg?.dataset ?? {};
      if (leg && this.onLeg) this.onLeg(Number(strike), legKind as OptionKind, legSide as LegSide);
    });
  }

  /** Forget the rows (new product or expiry). */
  clear(message = "Waiting for the option chain…"): void {
    this.tbody.replaceChildren();
    this.rows.clear();
    this.key = "";
    this.setMarkColumn(false);
    this.centred = false;
    this.empty.textContent = message;
    this.empty.hidden = false;
    this.table.dataset.rows = "0";
  }

  /** Draw `chain` with the numbers in `f` (by default, in the chain's own currency). */
  render(chain: EnrichedChain, f: Formats = formatsFor(chain.currency)): void {
    const key = `${chain.product}|${chain.expiry}|${f.currency}`;
    if (key !== this.key) {
      this.clear();
      this.key = key;
    }
    this.setMarkColumn(hasMarkIv(chain));
    const level = moneyLevel(chain);
    const atm = atmStrike(chain);
    const [lo, hi] = strikeWindow(chain.strikes, atm, this.width);
    const wanted = new Set<number>();
    const order: HTMLTableRowElement[] = [];
    for (let i = lo; i < hi; i++) {
      const strike = chain.strikes[i];
      wanted.add(strike);
      let view = this.rows.get(strike);
      const fresh = !view;
      if (!view) {
        view = this.makeRow(strike, f);
        this.rows.set(strike, view);
      }
      this.updateRow(view, chain.calls[i], chain.puts[i], strike, level, strike === atm, fresh, f);
      order.push(view.tr);
    }
    for (const [strike, view] of this.rows) {
      if (!wanted.has(strike)) {
        view.tr.remove();
        this.rows.delete(strike);
      }
    }
    // Keep DOM order ascending by strike with as few moves as possible.
    let prev: Element | null = null;
    for (const tr of order) {
      const want: Element | null = prev ? prev.nextElementSibling : this.tbody.firstElementChild;
      if (want !== tr) {
        if (prev) prev.after(tr);
        else this.tbody.prepend(tr);
      }
      prev = tr;
    }
    this.empty.hidden = order.length > 0;
    if (!order.length) this.empty.textContent = "No strikes in this chain";
    this.table.dataset.rows = String(order.length);
    this.table.dataset.spot = String(chain.spot_price);
    this.table.dataset.level = String(level);
    if (atm !== null) this.table.dataset.atm = String(atm);
    if (!this.centred && atm !== null) {
      this.centred = true;
      requestAnimationFrame(() => this.scrollToAtm());
    }
  }

  scrollToAtm(): void {
    const tr = this.tbody.querySelector<HTMLElement>("tr.atm");
    if (!tr) return;
    const wrap = this.el;
    const target = tr.offsetTop - wrap.clientHeight / 2 + tr.offsetHeight / 2;
    wrap.scrollTop = Math.max(0, target);
    // On a narrow screen the table scrolls sideways too: bring the strike column to the middle.
    const strike = tr.querySelector<HTMLElement>("td.strike");
    if (strike && wrap.scrollWidth > wrap.clientWidth) {
      wrap.scrollLeft = Math.max(0, strike.offsetLeft - wrap.clientWidth / 2 + strike.offsetWidth / 2);
    }
  }

  /** Show the buy and sell buttons of each side or not (`data-legs` on the table; the CSS hides them). */
  setLegs(show: boolean): void {
    if (show === this.showLegs) return;
    this.showLegs = show;
    this.table.dataset.legs = String(show);
    this.spanGroups();
  }

  /** Show the mark-IV columns or not (`data-mark` on the table; the CSS hides them). */
  private setMarkColumn(show: boolean): void {
    if (show === this.showMark) return;
    this.showMark = show;
    this.table.dataset.mark = String(show);
    this.spanGroups();
  }

  /** The CALLS and PUTS heads over the columns shown. */
  private spanGroups(): void {
    const span = String(COLUMNS.length - (this.showMark ? 0 : 1) + (this.showLegs ? 1 : 0));
    for (const th of this.groupHeads) th.setAttribute("colspan", span);
  }

  private makeRow(strike: number, f: Formats): RowView {
    const cells: RowView["cells"] = [];
    const td = (side: Side, c: Column) => {
      const el = h("td", { class: `c-${c.key} ${side}`, "data-col": `${side}-${c.key}` });
      cells.push({ side, col: c, td: el, last: null, text: "" });
      return el;
    };
    const strikeCell = h("td", { class: "strike", "data-col": "strike" }, f.strike(strike));
    if (this.onAlert) strikeCell.prepend(strikeBell(strike, f));
    const tr = h(
      "tr",
      { "data-testid": "chain-row", "data-strike": String(strike) },
      ...CALL_COLS.map((c) => td("call", c)),
      this.onLeg ? legCell(strike, "CALL", f) : null,
      strikeCell,
      this.onLeg ? legCell(strike, "PUT", f) : null,
      ...COLUMNS.map((c) => td("put", c)),
    );
    return { tr, strikeCell, cells };
  }

  private updateRow(
    view: RowView,
    call: ChainRow | undefined,
    put: ChainRow | undefined,
    strike: number,
    level: number,
    atm: boolean,
    fresh: boolean,
    f: Formats,
  ): void {
    view.tr.classList.toggle("atm", atm);
    if (atm) view.tr.dataset.atm = "true";
    else delete view.tr.dataset.atm;
    const callItm = isItm("call", strike, level);
    const putItm = isItm("put", strike, level);
    for (const cell of view.cells) {
      const row = cell.side === "call" ? call : put;
      const { text, value, tone, title } = cell.col.cell(row, f);
      const itm = cell.side === "call" ? callItm : putItm;
      if (cell.td.classList.contains("itm") !== itm) cell.td.classList.toggle("itm", itm);
      if (text !== cell.text) {
        cell.td.textContent = text;
        cell.text = text;
        cell.td.className = `c-${cell.col.key} ${cell.side}${itm ? " itm" : ""}${tone ? ` ${tone}` : ""}`;
        if (title) cell.td.title = title;
        else cell.td.removeAttribute("title");
        if (cell.col.flash && !fresh && value !== null && cell.last !== null && value !== cell.last) {
          flash(cell.td, value > cell.last ? "up" : "down");
        }
      }
      cell.last = value;
    }
  }
}

/** The bell of a strike's row (no text: the cell's text stays the strike). */
function strikeBell(strike: number, f: Formats): HTMLButtonElement {
  const label = `Create an alert on the ${f.strike(strike)} strike`;
  const button = h("button", {
    type: "button",
    class: "row-alert",
    "data-testid": "chain-row-alert",
    "data-alert-strike": String(strike),
    "aria-label": label,
    title: label,
  });
  button.append(bellIcon());
  return button;
}

/** A side's buy and sell buttons: "B" and "S", named in full for screen readers. */
function legCell(strike: number, kind: OptionKind, f: Formats): HTMLTableCellElement {
  const side = kind === "CALL" ? "call" : "put";
  const button = (legSide: LegSide, text: string) => {
    const label = `${legSide === "BUY" ? "Buy" : "Sell"} the ${f.strike(strike)} ${side} (a strategy leg)`;
    return h(
      "button",
      {
        type: "button",
        class: `leg-${legSide.toLowerCase()}`,
        "data-testid": "chain-leg",
        "data-leg-side": legSide,
        "data-leg-kind": kind,
        "data-strike": String(strike),
        "aria-label": label,
        title: label,
      },
      text,
    );
  };
  return h("td", { class: `c-leg ${side}`, "data-col": `${side}-leg` }, button("BUY", "B"), button("SELL", "S"));
}

const FLASH: Record<"up" | "down", string> = {
  up: "rgba(43, 179, 163, 0.28)",
  down: "rgba(239, 111, 108, 0.28)",
};

/** A short tint over the cell (box-shadow, so the ITM shading stays); restarts when re-flashed. */
function flash(td: HTMLElement, dir: "up" | "down"): void {
  td.dataset.flash = dir;
  if (typeof td.animate !== "function") return;
  const anim = td.animate(
    [{ boxShadow: `inset 0 0 0 999px ${FLASH[dir]}` }, { boxShadow: "inset 0 0 0 999px rgba(0,0,0,0)" }],
    { duration: 900, easing: "ease-out" },
  );
  anim.onfinish = () => {
    if (td.dataset.flash === dir) delete td.dataset.flash;
  };
}
