// The strategy page beside the live chain: the builder, the evaluation, the saved strategies —
// panels in one column, each a view of its own, and paper trading's panel (account, positions,
// orders blotter, trade history).
import type { DashState } from "../state/model";
import { h } from "../ui/dom";
import { PaperView } from "./paper";
import { StrategyLegsView } from "./strategyLegs";
import { StrategyResultView } from "./strategyResult";
import { StrategySavedView } from "./strategySaved";
import type { Intents, View } from "./view";

export class StrategyPageView implements View {
  readonly el: HTMLElement;
  private readonly views: View[];

  constructor(state: DashState, intents: Intents) {
    const legs = new StrategyLegsView(state, intents.strategy, intents.paper);
    const result = new StrategyResultView();
    const saved = new StrategySavedView(intents.strategy);
    const paper = new PaperView(intents.paper);
    this.views = [legs, result, saved, paper];
    const els = [legs.el, result.el, paper.el, saved.el];
    this.el = h("div", { class: "strategy-page", "data-testid": "strategy-page" }, ...els);
  }

  mount(): void {
    for (const view of this.views) view.mount?.();
  }

  update(s: DashState, p: DashState): void {
    for (const view of this.views) view.update(s, p);
  }

  destroy(): void {
    for (const view of this.views) view.destroy?.();
  }
}
