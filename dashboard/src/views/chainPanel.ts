// The option-chain panel: the table (redrawn once per frame from the newest chain), the strike
// window selector, "ATM" to scroll back to the money, and the legend.
import { STRIKE_WINDOWS } from "../hash";
import type { DashState } from "../state/model";
import { ChainTable } from "../ui/chainTable";
import { fillSelect, h } from "../ui/dom";
import { FrameTask, panel, type Intents, type View } from "./view";

const windowValue = (w: number | null) => (w === null ? "all" : String(w));

export class ChainPanelView implements View {
  readonly el: HTMLElement;
  private readonly table = new ChainTable();
  private readonly strikesSel = h("select", { "data-testid": "strikes-select", "aria-label": "Strikes around ATM" });
  private state: DashState | null = null;
  private readonly draw = new FrameTask(() => {
    const chain = this.state?.data.chain;
    if (chain) this.table.render(chain);
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
    const centre = h(
      "button",
      { type: "button", class: "ghost", "data-testid": "centre-atm", title: "Scroll to the ATM strike" },
      "ATM",
    );
    centre.addEventListener("click", () => this.table.scrollToAtm());
    const chainPanel = panel("Option chain", "chain", this.table.el, this.strikesSel, centre);
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
    if (d.gen !== p.data.gen) this.table.clear();
    if (d.chainMessage && d.chainMessage !== p.data.chainMessage) this.table.clear(d.chainMessage);
    if (s.selection.strikes !== p.selection.strikes) {
      this.table.width = s.selection.strikes;
      if (d.chain) this.table.render(d.chain);
    }
    if (d.chain && d.chain !== p.data.chain) this.draw.request();
  }

  destroy(): void {
    this.draw.cancel();
  }
}
