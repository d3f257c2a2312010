// The OI-by-strike, gamma-exposure and IV-smile panels: drawn from the newest chain in the strike
// window, at most every CHART_MIN_GAP_MS (at once when the window or the OI baseline changes).
import { atmStrike, strikeWindow } from "../chain";
import { GexChart } from "../charts/gexChart";
import { OiChart } from "../charts/oiChart";
import { SmileChart } from "../charts/smileChart";
import type { DashState } from "../state/model";
import { formatsOf } from "../state/select";
import { h } from "../ui/dom";
import { FrameTask, chartBox, panel, setNote, type View } from "./view";

/** Shortest gap between two draws of these charts (ms): a chain can arrive many times a second. */
const CHART_MIN_GAP_MS = 500;

export class OiSmileView implements View {
  readonly oiPanel: HTMLElement;
  readonly smilePanel: HTMLElement;
  readonly gexPanel: HTMLElement;
  private readonly oiBox = chartBox("chart-oi");
  private readonly gexBox = chartBox("chart-gex");
  private readonly smileBox = chartBox("chart-smile");
  private readonly caption = h("span", { class: "caption", "data-testid": "chart-oi-since" });
  private readonly oiNote: HTMLElement;
  private readonly smileNote: HTMLElement;
  private readonly gexNote: HTMLElement;
  private oi: OiChart | null = null;
  private gex: GexChart | null = null;
  private smile: SmileChart | null = null;
  private state: DashState | null = null;
  private drawnAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly frame = new FrameTask(() => this.draw(false));

  constructor() {
    const oiPanel = panel("Open interest by strike", "chart-oi", this.oiBox, this.caption);
    const smilePanel = panel("IV smile", "chart-smile", this.smileBox);
    const gexPanel = panel("Dealer gamma exposure by strike (per 1 % move)", "chart-gex", this.gexBox);
    [this.oiPanel, this.oiNote] = [oiPanel.el, oiPanel.note];
    [this.gexPanel, this.gexNote] = [gexPanel.el, gexPanel.note];
    [this.smilePanel, this.smileNote] = [smilePanel.el, smilePanel.note];
  }

  mount(): void {
    this.oi = new OiChart(this.oiBox, this.caption);
    this.gex = new GexChart(this.gexBox);
    this.smile = new SmileChart(this.smileBox);
  }

  update(s: DashState, p: DashState): void {
    this.state = s;
    const d = s.data;
    if (d.gen !== p.data.gen || (!d.chain && p.data.chain)) {
      // a new selection, or another instant being read (time travel)
      this.oi?.clear();
      this.gex?.clear();
      this.smile?.clear();
      setNote(this.oiNote, null);
      setNote(this.gexNote, null);
      setNote(this.smileNote, null);
    }
    const baselineSettled = d.gen === p.data.gen && p.data.baselinePending && !d.baselinePending;
    if (baselineSettled || s.selection.strikes !== p.selection.strikes) this.draw(true);
    else if (d.chain && d.chain !== p.data.chain) this.frame.request();
  }

  destroy(): void {
    this.frame.cancel();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Draw now when `force`, else when CHART_MIN_GAP_MS has passed since the last draw. */
  private draw(force: boolean): void {
    const wait = CHART_MIN_GAP_MS - (Date.now() - this.drawnAt);
    if (!force && wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.draw(true);
      }, wait);
      return;
    }
    const s = this.state;
    const c = s?.data.chain;
    if (!s || !c || !this.oi || !this.gex || !this.smile) return;
    this.drawnAt = Date.now();
    const atm = atmStrike(c);
    const win = strikeWindow(c.strikes, atm, s.selection.strikes);
    const f = formatsOf(s);
    this.oi.update(c, atm, win, s.data.baseline, f);
    this.gex.update(c, win, f);
    this.smile.update(c, win, f);
    const hasGex = c.calls.some((r) => r?.gex != null) || c.puts.some((r) => r?.gex != null);
    setNote(this.gexNote, hasGex ? null : "No gamma exposure in this chain (no IV or no OI)");
    const hasIv = c.calls.some((r) => r?.iv != null) || c.puts.some((r) => r?.iv != null);
    setNote(this.smileNote, hasIv ? null : "No implied volatility in this chain");
  }
}
