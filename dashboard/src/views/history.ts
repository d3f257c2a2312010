// PCR and max pain over time: the series route's history with the live points after it.
import { HistoryChart } from "../charts/historyChart";
import type { DashState } from "../state/model";
import { formatsOf } from "../state/select";
import { chartBox, panel, setNote, type View } from "./view";

export class HistoryView implements View {
  readonly panel: HTMLElement;
  private readonly box = chartBox("chart-history");
  private readonly note: HTMLElement;
  private chart: HistoryChart | null = null;

  constructor() {
    const p = panel("PCR & max pain", "chart-history", this.box);
    [this.panel, this.note] = [p.el, p.note];
  }

  mount(): void {
    this.chart = new HistoryChart(this.box);
  }

  update(s: DashState, p: DashState): void {
    const d = s.data;
    if (this.chart) this.chart.formats = formatsOf(s);
    if (d.gen !== p.data.gen) this.chart?.clear();
    // The loaded history is drawn at once; live points at most once a second.
    else if (d.history !== p.data.history) this.chart?.show(d.history, d.historyLoaded && !p.data.historyLoaded);
    if (d.historyNote !== p.data.historyNote) setNote(this.note, d.historyNote);
  }

  destroy(): void {
    this.chart?.cancel();
  }
}
