// The option-chain panel: the table (redrawn once per frame from the newest chain, in the
// selection's currency), the chain's venue, currency and forward, the strike window selector,
// "ATM" to scroll back to the money, and the legend. On the strategy page each side of a row has
// buy and sell buttons that add the option as a leg.
import type { ForwardSource } from "../types";
import { STRIKE_WINDOWS } from "../hash";
import type { DashState } from "../state/model";
import { formatsOf, selectionVenue } from "../state/select";
import { ChainTable } from "../ui/chainTable";
import { fillSelect, h, setText } from "../ui/dom";
import { FrameTask, panel, type Intents, type View } from "./view";

const windowValue = (w: number | null) => (w === null ? "all" : String(w));

const FORWARD_SOURCE: Record<ForwardSource, string> = {
  venue: "the venue's",
  parity: "put-call parity",
  carry: "carry",
};

/** "95,432.10 (the venue's)"; null when the chain names no forward. */
export function forwardText(s: DashState): string | null {
  const c = s.data.chain;
  if (!c || c.forward === undefined) return null;
  const source = c.forward_source ? ` (${FORWARD_SOURCE[c.forward_source] ?? c.forward_source})` : "";
  return `${formatsOf(s).num(c.forward, 2)}${source}`;
}

export class ChainPanelView implements View {
  readonly el: HTMLElement;
  private readonly table = new ChainTable();
  private readonly strikesSel = h("select", { "data-testid": "strikes-select", "aria-label": "Strikes around ATM" });
  private readonly venue = h("span", { class: "meta-venue", "data-testid": "chain-venue" });
  private readonly currency = h("span", { class: "meta-currency", "data-testid": "chain-currency" });
  private readonly forward = h("span", { class: "meta-forward", "data-testid": "chain-forward" });
  private readonly forwardItem = h("span", { class: "meta-item", hidden: true }, "Forward ", this.forward);
  private state: DashState | null = null;
  private readonly draw = new FrameTask(() => {
    const s = this.state;
    if (s?.data.chain) this.table.render(s.data.chain, formatsOf(s));
  });

  constructor(state: DashState, intents: Intents) {
    const windows = STRIKE_WINDOWS.map((w) => ({
      value: windowValue(w),
      label: w === null ? "All strikes" : `ATM ± ${w}`,
    }));
    fillSelect(this.strikesSel, windows, windowValue(state.selection.strikes));
    this.strikesSel.addEventListener("change", () => {
      const v = this.strikesSel.value;
      intents.select({ strikes: v === "all" ? null : Number(v) });
    });
    this.table.width = state.selection.strikes;
    this.table.onAlert = (strike) => intents.alerts.fromStrike(strike);
    this.table.onLeg = (strike, kind, side) => intents.strategy.addLeg(strike, kind, side);
    this.table.setLegs(state.selection.page === "strategy");
    const centre = h(
      "button",
      { type: "button", class: "ghost", "data-testid": "centre-atm", title: "Scroll to the ATM strike" },
      "ATM",
    );
    centre.addEventListener("click", () => this.table.scrollToAtm());
    const meta = h(
      "div",
      { class: "chain-meta", "data-testid": "chain-meta" },
      h("span", { class: "meta-item", title: "Where the chain's data comes from" }, "Venue ", this.venue),
      h("span", { class: "meta-item", title: "Currency of prices, strikes and spot" }, "Prices in ", this.currency),
      this.forwardItem,
    );
    const chainPanel = panel("Option chain", "chain", h("div", {}, meta, this.table.el), this.strikesSel, centre);
    chainPanel.el.classList.add("chain-panel");
    chainPanel.el.append(
      h(
        "div",
        { class: "legend" },
        h("span", { class: "key itm-key" }, "ITM"),
        h("span", { class: "key atm-key" }, "ATM"),
        h("span", { class: "bu-up" }, "LB long buildup"),
        h("span", { class: "bu-up" }, "SC short covering"),
        h("span", { class: "bu-down" }, "SB short buildup"),
        h("span", { class: "bu-down" }, "LU long unwinding"),
      ),
    );
    this.el = chainPanel.el;
  }

  update(s: DashState, p: DashState): void {
    this.state = s;
    const d = s.data;
    if (s.selection !== p.selection) this.strikesSel.value = windowValue(s.selection.strikes);
    if (s.selection.page !== p.selection.page) this.table.setLegs(s.selection.page === "strategy");
    if (d.gen !== p.data.gen) this.table.clear();
    if (d.chainMessage && d.chainMessage !== p.data.chainMessage) this.table.clear(d.chainMessage);
    if (s.selection.strikes !== p.selection.strikes) {
      this.table.width = s.selection.strikes;
      if (d.chain) this.table.render(d.chain, formatsOf(s));
    }
    if (d.chain && d.chain !== p.data.chain) this.draw.request();
    if (d.chain !== p.data.chain || s.products !== p.products || s.selection !== p.selection) this.meta(s);
  }

  private meta(s: DashState): void {
    setText(this.venue, selectionVenue(s) ?? "—");
    setText(this.currency, formatsOf(s).currency);
    const forward = forwardText(s);
    this.forwardItem.hidden = forward === null;
    setText(this.forward, forward ?? "");
  }

  destroy(): void {
    this.draw.cancel();
  }
}
