// A strategy's P&L against spot: the curve at the first expiry, today's, one per date asked for;
// the zero line, spot and the breakevens marked. And the small density chart beside it: where spot
// may be at the first expiry under the smile's risk-neutral density and the lognormal at ATM IV.
import type { Formats } from "../format";
import type { Evaluation } from "../strategy/model";
import { curveLabel } from "../strategy/text";
import { COLORS, PointsChart, axisStyle, baseOption } from "./echarts";

/** One curve of the payoff chart: `[spot, P&L]` points. */
export interface PayoffCurve {
  name: string;
  data: [number, number][];
  kind: "expiry" | "today" | "date";
}

const zip = (xs: number[], ys: number[]): [number, number][] => xs.map((x, i): [number, number] => [x, ys[i]]);

/** The curves of an evaluation: at expiry, today, then each date in the order asked. */
export function payoffCurves(payoff: Evaluation["payoff"]): PayoffCurve[] {
  return [
    { name: "At expiry", data: zip(payoff.spots, payoff.expiry), kind: "expiry" },
    { name: "Today", data: zip(payoff.spots, payoff.today), kind: "today" },
    ...payoff.dates.map((d): PayoffCurve => ({ name: curveLabel(d.at), data: zip(payoff.spots, d.pnl), kind: "date" })),
  ];
}

/** A vertical mark of the payoff chart. */
export interface SpotMark {
  at: number;
  label: string;
  kind: "spot" | "breakeven";
}

/** Spot and each breakeven inside the chart's spots, labelled in `f`. */
export function payoffMarks(
  e: Pick<Evaluation, "spot" | "breakevens" | "payoff">,
  f: Pick<Formats, "num">,
): SpotMark[] {
  const { spots } = e.payoff;
  const inside = (x: number) => spots.length > 0 && x >= spots[0] && x <= spots[spots.length - 1];
  const marks: SpotMark[] = e.breakevens
    .filter(inside)
    .map((b) => ({ at: b, label: `BE ${f.num(b, 2)}`, kind: "breakeven" }));
  if (inside(e.spot)) marks.push({ at: e.spot, label: `Spot ${f.num(e.spot, 2)}`, kind: "spot" });
  return marks;
}

/** The density's two curves as `[spot, density]` points between `lo` and `hi` (the payoff chart's
 * spots, so both charts share their axis); none without a density. */
export function densityCurves(
  d: Evaluation["density"],
  lo = -Infinity,
  hi = Infinity,
): { riskNeutral: [number, number][]; lognormal: [number, number][] } {
  if (!d) return { riskNeutral: [], lognormal: [] };
  const within = (points: [number, number][]) => points.filter(([x]) => x >= lo && x <= hi);
  return { riskNeutral: within(zip(d.spots, d.risk_neutral)), lognormal: within(zip(d.spots, d.lognormal)) };
}

const DATE_COLORS = [COLORS.violet, COLORS.amber, COLORS.put, "#c0caf5"];

function seriesOf(curve: PayoffCurve, i: number): object {
  const color =
    curve.kind === "expiry"
      ? COLORS.accent
      : curve.kind === "today"
        ? COLORS.text
        : DATE_COLORS[i % DATE_COLORS.length];
  return {
    name: curve.name,
    type: "line",
    data: curve.data,
    showSymbol: false,
    lineStyle: { color, width: curve.kind === "expiry" ? 2 : 1.2, type: curve.kind === "today" ? "dashed" : "solid" },
    itemStyle: { color },
  };
}

/** The zero line and the vertical marks, labelled (spot along its line, the breakevens at the top:
 * nearby ones do not print over each other) or not. */
function marksOf(marks: SpotMark[], labelled: boolean): object {
  const vertical = marks.map((m) => ({
    xAxis: m.at,
    label: labelled
      ? {
          formatter: m.label,
          color: m.kind === "spot" ? COLORS.amber : COLORS.muted,
          fontSize: 10,
          position: m.kind === "spot" ? "insideStartTop" : "end",
        }
      : { show: false },
    lineStyle: { color: m.kind === "spot" ? COLORS.amber : COLORS.muted },
  }));
  const zero = { yAxis: 0, label: { show: false }, lineStyle: { color: COLORS.axis, type: "solid" as const } };
  return { silent: true, symbol: "none", lineStyle: { type: "dashed" as const, width: 1 }, data: [zero, ...vertical] };
}

/** The payoff chart in `el`; `data-rendered` turns "true" once drawn with curves. */
export class PayoffChart extends PointsChart {
  update(e: Evaluation, f: Formats): void {
    const curves = payoffCurves(e.payoff);
    const { spots } = e.payoff;
    this.points = spots.length;
    const series = curves.map((c, i) => seriesOf(c, i - 2));
    if (series.length) (series[0] as Record<string, unknown>).markLine = marksOf(payoffMarks(e, f), true);
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          formatter: (params: unknown) => {
            const ps = params as { marker: string; seriesName: string; value: [number, number] }[];
            if (!ps.length) return "";
            const lines = ps.map((p) => `${p.marker}${p.seriesName}: <b>${f.num(p.value[1], 2)}</b>`);
            return `Spot <b>${f.num(ps[0].value[0], 2)}</b><br/>${lines.join("<br/>")}`;
          },
        },
        legend: { ...baseOption.legend, data: curves.map((c) => c.name) },
        grid: { left: 58, right: 14, top: 34, bottom: 26 },
        xAxis: {
          type: "value",
          min: spots[0],
          max: spots[spots.length - 1],
          ...axisStyle,
          splitLine: { show: false },
          axisLabel: {
            ...axisStyle.axisLabel,
            showMinLabel: false,
            showMaxLabel: false,
            formatter: (v: number) => f.compact(v),
          },
        },
        yAxis: {
          type: "value",
          ...axisStyle,
          axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => f.compact(v) },
        },
        series,
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}

/** The density chart in `el`: risk-neutral and lognormal, the breakevens marked. */
export class DensityChart extends PointsChart {
  update(e: Evaluation, f: Formats): void {
    const { spots } = e.payoff;
    const [lo, hi] = [spots[0], spots[spots.length - 1]];
    const { riskNeutral, lognormal } = densityCurves(e.density, lo, hi);
    this.points = riskNeutral.length;
    const line = (name: string, data: [number, number][], color: string, dashed: boolean) => ({
      name,
      type: "line",
      data,
      showSymbol: false,
      lineStyle: { color, width: 1.5, type: dashed ? "dashed" : "solid" },
      itemStyle: { color },
    });
    const marks = marksOf(payoffMarks(e, f), false);
    const rn = { ...line("Risk-neutral", riskNeutral, COLORS.accent, false), markLine: marks };
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: { ...baseOption.tooltip, show: false },
        legend: { ...baseOption.legend, data: ["Risk-neutral", "Lognormal"] },
        grid: { left: 10, right: 14, top: 30, bottom: 24 },
        xAxis: {
          type: "value",
          min: lo,
          max: hi,
          ...axisStyle,
          splitLine: { show: false },
          axisLabel: {
            ...axisStyle.axisLabel,
            showMinLabel: false,
            showMaxLabel: false,
            formatter: (v: number) => f.compact(v),
          },
        },
        yAxis: { type: "value", show: false },
        series: [rn, line("Lognormal", lognormal, COLORS.violet, true)],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}
