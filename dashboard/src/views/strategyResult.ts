// The strategy's evaluation: the numbers (net premium as a debit or a credit, max profit and max
// loss — "unlimited" when unbounded —, breakevens, PoP with the lognormal PoP beside it, Greeks with
// their units), the payoff chart (expiry, today, the dates' curves; zero, spot and breakevens
// marked), the density chart (risk-neutral vs lognormal), the model sentence, and "stale" when the
// service says a chain it used is past its product's limit. Each number carries its raw value in
// `data-value` (JSON) for the tests.
import { formatsOfProduct } from "../alerts/text";
import { DensityChart, PayoffChart } from "../charts/payoffChart";
import type { DashState } from "../state/model";
import { resultState, type StrategyState } from "../state/strategy";
import type { Evaluation } from "../strategy/model";
import {
  breakevensText,
  greekLines,
  limitText,
  limitsNote,
  outsideText,
  premiumText,
  probabilityText,
} from "../strategy/text";
import { h, setText } from "../ui/dom";
import { fmtUtcTime } from "../travel";
import { FrameTask, chartBox, panel, setNote, type View } from "./view";

/** One number: its label, its value (`{testid}`, with `data-value`), a line under it. */
class Metric {
  readonly el: HTMLElement;
  readonly value: HTMLElement;
  readonly sub: HTMLElement;

  constructor(testid: string, label: string) {
    this.value = h("dd", { class: "metric-value", "data-testid": testid });
    this.sub = h("dd", { class: "metric-sub", "data-testid": `${testid}-sub` });
    this.el = h("div", { class: "metric" }, h("dt", {}, label), this.value, this.sub);
  }

  set(text: string, raw: unknown, sub = ""): void {
    setText(this.value, text);
    this.value.dataset.value = JSON.stringify(raw ?? null);
    setText(this.sub, sub);
  }
}

export class StrategyResultView implements View {
  readonly el: HTMLElement;
  private readonly numbers: Record<string, Metric> = {
    net: new Metric("strategy-net-premium", "Net premium"),
    maxProfit: new Metric("strategy-max-profit", "Max profit"),
    maxLoss: new Metric("strategy-max-loss", "Max loss"),
    breakevens: new Metric("strategy-breakevens", "Breakevens"),
    pop: new Metric("strategy-pop", "PoP (smile)"),
    popLognormal: new Metric("strategy-pop-lognormal", "PoP (lognormal)"),
  };
  private readonly greeks = {
    delta: new Metric("strategy-delta", "Delta"),
    gamma: new Metric("strategy-gamma", "Gamma"),
    theta: new Metric("strategy-theta", "Theta"),
    vega: new Metric("strategy-vega", "Vega"),
  };
  private readonly stale = h(
    "span",
    {
      class: "badge stale-badge",
      "data-testid": "strategy-stale",
      hidden: true,
      title: "A chain used is past its product's limit",
    },
    "stale",
  );
  private readonly asOf = h("span", { class: "caption", "data-testid": "strategy-as-of" });
  private readonly limits = h("p", { class: "strategy-limits", "data-testid": "strategy-limits-note", hidden: true });
  private readonly model = h("p", { class: "strategy-model", "data-testid": "strategy-model" });
  private readonly payoffBox = chartBox("chart-payoff");
  private readonly densityBox = chartBox("chart-density");
  private readonly outside = h("p", { class: "caption", "data-testid": "strategy-outside", hidden: true });
  private readonly note: HTMLElement;
  private payoff: PayoffChart | null = null;
  private density: DensityChart | null = null;
  private state: DashState | null = null;
  private readonly frame = new FrameTask(() => this.drawCharts());

  constructor() {
    const numbers = h("dl", { class: "strategy-numbers" }, ...Object.values(this.numbers).map((m) => m.el));
    const greeks = h("dl", { class: "strategy-numbers greeks" }, ...Object.values(this.greeks).map((m) => m.el));
    const densityPanel = h(
      "div",
      { class: "strategy-density" },
      h("h3", {}, "Spot at the first expiry: risk-neutral vs lognormal"),
      this.densityBox,
      this.outside,
    );
    const body = h(
      "div",
      { class: "strategy-result-body" },
      numbers,
      greeks,
      this.limits,
      this.payoffBox,
      densityPanel,
      this.model,
    );
    const p = panel("Payoff and risk", "strategy-result", body, this.stale, this.asOf);
    p.el.dataset.testid = "strategy-result";
    p.el.dataset.state = "empty";
    this.note = p.note;
    this.el = p.el;
  }

  mount(): void {
    this.payoff = new PayoffChart(this.payoffBox);
    this.density = new DensityChart(this.densityBox);
  }

  update(s: DashState, p: DashState): void {
    this.state = s;
    const a = s.strategy;
    const b = p.strategy;
    if (a.result !== b.result || a.version !== b.version || a.pending !== b.pending || a.legs !== b.legs) this.mark(a);
    if (a.result !== b.result || s.selection.page !== p.selection.page) {
      if (a.result) this.show(a.result, s);
      else this.clear();
    }
  }

  destroy(): void {
    this.frame.cancel();
  }

  private mark(a: StrategyState): void {
    const state = resultState(a);
    this.el.dataset.state = state;
    this.el.setAttribute("aria-busy", String(a.pending));
    const why =
      state === "empty"
        ? "Add legs to see the payoff"
        : state === "pending"
          ? a.pending
            ? "Evaluating…"
            : "Not evaluated: see the fields marked"
          : null;
    setNote(this.note, why);
  }

  private clear(): void {
    for (const m of [...Object.values(this.numbers), ...Object.values(this.greeks)]) m.set("—", null);
    this.stale.hidden = true;
    setText(this.asOf, "");
    setText(this.model, "");
    this.limits.hidden = true;
    this.outside.hidden = true;
    this.payoff?.clear();
    this.density?.clear();
  }

  private show(e: Evaluation, s: DashState): void {
    const f = formatsOfProduct(s.products, e.product);
    const { net, maxProfit, maxLoss, breakevens, pop, popLognormal } = this.numbers;
    net.set(
      premiumText(e.net_premium, f),
      e.net_premium,
      e.net_premium > 0 ? "paid" : e.net_premium < 0 ? "received" : "",
    );
    maxProfit.set(limitText(e.max_profit, f), e.max_profit);
    maxLoss.set(limitText(e.max_loss, f), e.max_loss);
    breakevens.set(breakevensText(e.breakevens, f), e.breakevens, `spot ${f.num(e.spot, 2)}`);
    pop.set(probabilityText(e.pop), e.pop, "risk-neutral density");
    popLognormal.set(probabilityText(e.pop_lognormal), e.pop_lognormal, `ATM IV ${probabilityText(e.atm_iv)}`);
    for (const line of greekLines(e.greeks, f)) this.greeks[line.key].set(line.value, e.greeks?.[line.key], line.unit);
    this.stale.hidden = !e.stale;
    setText(this.asOf, e.as_of ? `chains of ${fmtUtcTime(e.as_of)}` : "");
    const limits = limitsNote(e);
    setText(this.limits, limits ?? "");
    this.limits.hidden = limits === null;
    setText(this.model, e.model ? `Model: ${e.model}.` : "");
    const outside = outsideText(e.density?.outside_mass ?? null);
    setText(this.outside, outside ?? "");
    this.outside.hidden = outside === null;
    this.frame.request();
  }

  /** The charts, once the page shows them (a hidden chart has no size to draw in). */
  private drawCharts(): void {
    const s = this.state;
    const e = s?.strategy.result;
    if (!s || !e || s.selection.page !== "strategy" || !this.payoff || !this.density) return;
    const f = formatsOfProduct(s.products, e.product);
    this.payoff.update(e, f);
    this.density.update(e, f);
  }
}
