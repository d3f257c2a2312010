// The underlying's candles: the route's history for the selected interval, then the forming
// candle of each live tick; the interval buttons.
import { INTERVALS, type Interval } from "../api";
import { CandleChart } from "../charts/candleChart";
import type { DashState } from "../state/model";
import { formatsOf } from "../state/select";
import { h } from "../ui/dom";
import { chartBox, panel, setNote, type Intents, type View } from "./view";

export class CandlesView implements View {
  readonly panel: HTMLElement;
  private readonly box = chartBox("chart-candles");
  private readonly note: HTMLElement;
  private readonly buttons = new Map<Interval, HTMLButtonElement>();
  private chart: CandleChart | null = null;

  constructor(state: DashState, intents: Intents) {
    const bar = h("div", { class: "seg", role: "group", "aria-label": "Candle interval" });
    for (const iv of INTERVALS) {
      const b = h("button", { type: "button", "data-testid": `interval-${iv}`, "aria-pressed": "false" }, iv);
      b.addEventListener("click", () => intents.select({ interval: iv }));
      this.buttons.set(iv, b);
      bar.append(b);
    }
    const p = panel("Underlying", "chart-candles", this.box, bar);
    [this.panel, this.note] = [p.el, p.note];
    this.press(state.selection.interval);
  }

  mount(): void {
    this.chart = new CandleChart(this.box);
  }

  update(s: DashState, p: DashState): void {
    const chart = this.chart;
    if (chart) chart.formats = formatsOf(s);
    if (s.selection !== p.selection) this.press(s.selection.interval);
    if (chart && s.candles.gen !== p.candles.gen) chart.reset(s.selection.interval);
    if (chart && s.candles.bars && s.candles.bars !== p.candles.bars) chart.load(s.candles.bars);
    // Once a live tick was seen, every new underlying is one (later REST answers are dropped).
    const u = s.data.underlying;
    if (chart && u && u !== p.data.underlying && s.data.liveSpotSeen) chart.live(u);
    if (s.candles.note !== p.candles.note) setNote(this.note, s.candles.note);
  }

  private press(interval: Interval): void {
    for (const [iv, b] of this.buttons) b.setAttribute("aria-pressed", String(iv === interval));
  }
}
