// The IV surface as a heat map: expiries (rows, nearest at the bottom) × strikes, each cell the
// out-of-the-money IV (%) of that expiry at that strike; cells without one are left empty.
import type { SurfaceResponse } from "../api";
import type { Formats } from "../format";
import { COLORS, PointsChart, axisStyle, baseOption } from "./echarts";

/** `[strike index, expiry index, IV %]` of every cell with an IV, and the IV range (%). */
export function surfaceCells(surface: Pick<SurfaceResponse, "iv">): {
  cells: [number, number, number][];
  min: number;
  max: number;
} {
  const cells: [number, number, number][] = [];
  surface.iv.forEach((row, e) =>
    row.forEach((iv, k) => {
      if (iv !== null && Number.isFinite(iv)) cells.push([k, e, Math.round(iv * 10_000) / 100]);
    }),
  );
  const values = cells.map((c) => c[2]);
  return { cells, min: values.length ? Math.min(...values) : 0, max: values.length ? Math.max(...values) : 0 };
}

export class SurfaceChart extends PointsChart {
  update(surface: SurfaceResponse, f: Formats): void {
    const { cells, min, max } = surfaceCells(surface);
    this.points = cells.length;
    const strikes = surface.strikes.map((k) => f.strike(k));
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          trigger: "item",
          formatter: (params: unknown) => {
            const [k, e, iv] = (params as { value: [number, number, number] }).value;
            return `${surface.expiries[e]} · strike <b>${strikes[k]}</b><br/>OTM IV <b>${iv.toFixed(2)}%</b>`;
          },
        },
        grid: { left: 78, right: 14, top: 12, bottom: 62 },
        xAxis: { type: "category", data: strikes, ...axisStyle, splitArea: { show: false } },
        yAxis: { type: "category", data: surface.expiries, ...axisStyle, splitArea: { show: false } },
        visualMap: {
          min,
          max: max > min ? max : min + 1,
          calculable: false,
          orient: "horizontal",
          left: "center",
          bottom: 4,
          itemHeight: 120,
          itemWidth: 10,
          textStyle: { color: COLORS.muted, fontSize: 10 },
          formatter: (v: number) => `${v.toFixed(1)}%`,
          inRange: { color: [COLORS.put, "#e6e2a8", COLORS.call] },
        },
        series: [
          { name: "OTM IV", type: "heatmap", data: cells, emphasis: { itemStyle: { borderColor: COLORS.text } } },
        ],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}
