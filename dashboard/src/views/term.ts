// The ATM term structure of the selected product, redrawn when its points change.
import { TermChart } from "../charts/termChart";
import type { DashState } from "../state/model";
import { chartBox, panel, setNote, type View } from "./view";

export class TermView implements View {
  readonly panel: HTMLElement;
  private readonly box = chartBox("chart-term");
  private readonly note: HTMLElement;
  private chart: TermChart | null = null;

  constructor() {
    const p = panel("ATM IV term structure", "chart-term", this.box);
    [this.panel, this.note] = [p.el, p.note];
  }

  mount(): void {
    this.chart = new TermChart(this.box);
  }

  update(s: DashState, p: DashState): void {
    const t = s.term;
    if (t.gen !== p.term.gen) this.chart?.clear();
    if (t.points && t.points !== p.term.points) this.chart?.update(t.points);
    if (t.note !== p.term.note || t.gen !== p.term.gen) setNote(this.note, t.note);
  }
}
