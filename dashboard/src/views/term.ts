// The ATM term structure and the IV surface of the selected product, redrawn when they change.
import { SurfaceChart } from "../charts/surfaceChart";
import { TermChart } from "../charts/termChart";
import type { DashState } from "../state/model";
import { formatsOf } from "../state/select";
import { chartBox, panel, setNote, type View } from "./view";

export class TermView implements View {
  readonly panel: HTMLElement;
  readonly surfacePanel: HTMLElement;
  private readonly box = chartBox("chart-term");
  private readonly surfaceBox = chartBox("chart-surface");
  private readonly note: HTMLElement;
  private readonly surfaceNote: HTMLElement;
  private chart: TermChart | null = null;
  private surface: SurfaceChart | null = null;

  constructor() {
    const p = panel("ATM IV term structure", "chart-term", this.box);
    [this.panel, this.note] = [p.el, p.note];
    const q = panel("IV surface (out-of-the-money IV, expiry × strike)", "chart-surface", this.surfaceBox);
    [this.surfacePanel, this.surfaceNote] = [q.el, q.note];
  }

  mount(): void {
    this.chart = new TermChart(this.box);
    this.surface = new SurfaceChart(this.surfaceBox);
  }

  update(s: DashState, p: DashState): void {
    const t = s.term;
    const switched = t.gen !== p.term.gen;
    if (switched) {
      this.chart?.clear();
      this.surface?.clear();
    }
    if (t.points && t.points !== p.term.points) this.chart?.update(t.points);
    if (t.surface && t.surface !== p.term.surface) this.surface?.update(t.surface, formatsOf(s));
    if (t.note !== p.term.note || switched) setNote(this.note, t.note);
    if (t.surfaceNote !== p.term.surfaceNote || switched) setNote(this.surfaceNote, t.surfaceNote);
  }
}
