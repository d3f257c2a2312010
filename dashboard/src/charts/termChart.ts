// The ATM term structure: each live expiry's ATM IV (%) against its days to expiry.
import type { TermPoint } from "../api";
import { COLORS, PointsChart, axisStyle, baseOption } from "./echarts";

/** `[days, ATM IV %]` of the points that have an IV, by days ascending. */
export function termSeries(points: TermPoint[]): [number, number][] {
  return points
    .filter((p) => p.atm_iv !== null && Number.isFinite(p.atm_iv) && Number.isFinite(p.days))
    .map((p): [number, number] => [p.days, (p.atm_iv as number) * 100])
    .sort((a, b) => a[0] - b[0]);
}

export class TermChart extends PointsChart {
  update(points: TermPoint[]): void {
    const data = termSeries(points);
    const expiryAt = new Map(points.map((p) => [p.days, p.expiry]));
    this.points = data.length;
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          formatter: (params: unknown) => {
            const ps = params as { value: [number, number] }[];
            if (!ps.length) return "";
            const [days, iv] = ps[0].value;
            return `${expiryAt.get(days) ?? ""} · ${days.toFixed(1)} d<br/>ATM IV <b>${iv.toFixed(2)}%</b>`;
          },
        },
        grid: { left: 44, right: 14, top: 18, bottom: 26 },
        xAxis: {
          type: "value",
          name: "days",
          nameLocation: "end",
          nameGap: 4,
          ...axisStyle,
          splitLine: { show: false },
        },
        yAxis: {
          type: "value",
          scale: true,
          ...axisStyle,
          axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => `${v.toFixed(1)}%` },
        },
        series: [
          {
            name: "ATM IV",
            type: "line",
            data,
            symbolSize: 6,
            lineStyle: { color: COLORS.violet, width: 2 },
            itemStyle: { color: COLORS.violet },
          },
        ],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}
