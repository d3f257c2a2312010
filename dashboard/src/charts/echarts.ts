// ECharts with only the modules the dashboard draws (bar, line and heat-map charts on a grid), and the
// shared look of the dark theme.
import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart,
  HeatmapChart,
  LineChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export { echarts };
export type EChart = echarts.ECharts;

export const COLORS = {
  text: "#c9d1d9",
  muted: "#8b949e",
  grid: "rgba(139, 148, 158, 0.14)",
  axis: "rgba(139, 148, 158, 0.35)",
  call: "#ef6f6c",
  callSoft: "rgba(239, 111, 108, 0.45)",
  put: "#2bb3a3",
  putSoft: "rgba(43, 179, 163, 0.45)",
  accent: "#7aa2f7",
  amber: "#e0af68",
  violet: "#bb9af7",
  tooltipBg: "#1b2129",
};

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif';

export const baseOption = {
  backgroundColor: "transparent",
  animation: false,
  textStyle: { color: COLORS.text, fontFamily: FONT, fontSize: 11 },
  tooltip: {
    trigger: "axis" as const,
    backgroundColor: COLORS.tooltipBg,
    borderColor: COLORS.axis,
    textStyle: { color: COLORS.text, fontSize: 12 },
    confine: true,
  },
  legend: {
    top: 0,
    right: 4,
    itemWidth: 12,
    itemHeight: 8,
    textStyle: { color: COLORS.muted, fontSize: 11 },
    inactiveColor: "#484f58",
  },
};

/** Dashed vertical lines at category values (`{xAxis, label, lineStyle}` each), for a bar
 * series' `markLine`; undefined when there are none. */
export function dashedMarkLines(data: object[]): object | undefined {
  return data.length
    ? { silent: true, symbol: "none", lineStyle: { type: "dashed" as const, width: 1 }, data }
    : undefined;
}

export const axisStyle = {
  axisLine: { lineStyle: { color: COLORS.axis } },
  axisTick: { lineStyle: { color: COLORS.axis } },
  axisLabel: { color: COLORS.muted, fontSize: 10 },
  splitLine: { lineStyle: { color: COLORS.grid } },
};

/**
 * An ECharts instance on `el`, resized with its box. `data-rendered="true"` is set on `el` after
 * a render finishes with data (`hasData()`); callers reset it to "false" when they clear.
 */
export function mount(el: HTMLElement, hasData: () => boolean): EChart {
  const chart = echarts.init(el, null, { renderer: "canvas" });
  chart.on("finished", () => {
    if (hasData()) el.dataset.rendered = "true";
  });
  const ro = new ResizeObserver(() => chart.resize());
  ro.observe(el);
  return chart;
}

/** A chart on `el` drawn from points: `data-rendered` turns "true" once a render finishes with
 * `points` above zero, and "false" when cleared. Subclasses set `points` as they draw. */
export abstract class PointsChart {
  protected readonly chart: EChart;
  protected points = 0;

  constructor(protected readonly el: HTMLElement) {
    this.chart = mount(el, () => this.points > 0);
  }

  clear(): void {
    this.points = 0;
    this.el.dataset.rendered = "false";
    this.chart.clear();
  }
}
