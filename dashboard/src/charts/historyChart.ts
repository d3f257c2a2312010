// PCR (OI and volume) and max pain over time: the series route's history, then one point per
// minute bucket from live chains (merged in the state; drawn here at most once a second).
import { HISTORY_BUCKET_S, type HistoryPoint } from "../chain";
import { fmtClock, fmtNum, fmtRatio, formatsFor, type Formats } from "../format";
import { COLORS, axisStyle, baseOption, mount, type EChart } from "./echarts";

/** Live points redraw the chart at most this often (ms). */
const REDRAW_MS = 1000;

export class HistoryChart {
  private readonly chart: EChart;
  private points: HistoryPoint[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Max pain (a strike) in the selection's currency; set before `show`. */
  formats: Formats = formatsFor(null);

  constructor(private readonly el: HTMLElement) {
    this.chart = mount(el, () => this.points.length > 0);
  }

  clear(): void {
    this.cancel();
    this.points = [];
    this.el.dataset.rendered = "false";
    this.chart.clear();
  }

  /** Draw `points` now (a loaded history), or within REDRAW_MS (live points). */
  show(points: HistoryPoint[], atOnce: boolean): void {
    this.points = points;
    if (atOnce) {
      this.cancel();
      this.draw();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.draw();
      }, REDRAW_MS);
    }
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private draw(): void {
    const pts = this.points;
    const series = (key: keyof Omit<HistoryPoint, "t">) => pts.map((p) => [p.t, p[key]]);
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          formatter: (params: unknown) => {
            const ps = params as {
              marker: string;
              seriesName: string;
              value: [number, number | null];
              seriesIndex: number;
            }[];
            if (!ps.length) return "";
            return `${fmtClock(ps[0].value[0], false)}<br/>${ps
              .map(
                (p) =>
                  `${p.marker}${p.seriesName}: <b>${p.seriesIndex === 2 ? this.formats.strike(p.value[1]) : fmtRatio(p.value[1])}</b>`,
              )
              .join("<br/>")}`;
          },
        },
        legend: { ...baseOption.legend, data: ["PCR (OI)", "PCR (Vol)", "Max pain"] },
        grid: { left: 40, right: 58, top: 28, bottom: 24 },
        xAxis: {
          type: "time",
          minInterval: HISTORY_BUCKET_S * 1000,
          ...axisStyle,
          splitLine: { show: false },
          axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => fmtClock(v, false), hideOverlap: true },
        },
        yAxis: [
          {
            type: "value",
            ...padded(0.02),
            ...axisStyle,
            axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => fmtNum(v, 2) },
          },
          {
            type: "value",
            ...padded(0),
            ...axisStyle,
            splitLine: { show: false },
            axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => this.formats.strike(v) },
          },
        ],
        series: [
          {
            name: "PCR (OI)",
            type: "line",
            data: series("pcr_oi"),
            showSymbol: pts.length <= 2,
            lineStyle: { width: 2, color: COLORS.accent },
            itemStyle: { color: COLORS.accent },
          },
          {
            name: "PCR (Vol)",
            type: "line",
            data: series("pcr_volume"),
            showSymbol: pts.length <= 2,
            lineStyle: { width: 1.3, color: COLORS.violet },
            itemStyle: { color: COLORS.violet },
          },
          {
            name: "Max pain",
            type: "line",
            step: "end",
            yAxisIndex: 1,
            data: series("max_pain"),
            showSymbol: pts.length <= 2,
            lineStyle: { width: 1.3, color: COLORS.amber, type: "dashed" },
            itemStyle: { color: COLORS.amber },
          },
        ],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}

/**
 * Axis bounds a little outside the data (ECharts' own `scale` picks wide, odd ranges for a flat
 * series such as max pain): 15 % of the range, at least `minPad` or 0.2 % of the level.
 */
function padded(minPad: number) {
  const pad = (v: { min: number; max: number }) => Math.max((v.max - v.min) * 0.15, minPad, Math.abs(v.max) * 0.002);
  return {
    min: (v: { min: number; max: number }) => niceFloor(v.min - pad(v)),
    max: (v: { min: number; max: number }) => niceCeil(v.max + pad(v)),
  };
}

const step = (x: number) => 10 ** Math.floor(Math.log10(Math.max(Math.abs(x), 1e-9)) - 1);
const niceFloor = (x: number) => Math.floor(x / step(x)) * step(x);
const niceCeil = (x: number) => Math.ceil(x / step(x)) * step(x);
