// IV smile of the current chain: out-of-the-money IV (puts below the forward, calls above; spot
// when the chain has no forward) in bold, call and put IV faint behind it, the forward marked.
import { moneyLevel, smilePoints } from "../chain";
import { fmtNum, num, type Formats } from "../format";
import type { EnrichedChain } from "../types";
import { COLORS, PointsChart, axisStyle, baseOption } from "./echarts";

export class SmileChart extends PointsChart {
  /** Draw the strikes `strikes` ([lo, hi) indices) of `chain`, strikes and spot in `f`. */
  update(chain: EnrichedChain, strikes: [number, number], f: Formats): void {
    const [lo, hi] = strikes;
    const view = {
      ...chain,
      strikes: chain.strikes.slice(lo, hi),
      calls: chain.calls.slice(lo, hi),
      puts: chain.puts.slice(lo, hi),
    };
    const s = smilePoints(view);
    const level = moneyLevel(chain);
    const moneyName = num(chain.forward) === null ? "Spot" : "Forward";
    this.points = s.call.length + s.put.length;
    const line = (name: string, data: [number, number][], color: string, width: number, dashed = false) => ({
      name,
      type: "line" as const,
      data,
      showSymbol: data.length < 60,
      symbolSize: 4,
      connectNulls: false,
      lineStyle: { color, width, type: dashed ? ("dotted" as const) : ("solid" as const) },
      itemStyle: { color },
    });
    const otm = line("OTM IV", s.otm, COLORS.accent, 2.2);
    (otm as Record<string, unknown>).markLine = {
      silent: true,
      symbol: "none",
      lineStyle: { type: "dashed", width: 1, color: COLORS.amber },
      label: { formatter: `${moneyName} ${f.num(level, 2)}`, color: COLORS.amber, fontSize: 10 },
      data: [{ xAxis: level }],
    };
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          formatter: (params: unknown) => {
            const ps = params as { marker: string; seriesName: string; value: [number, number] }[];
            if (!ps.length) return "";
            return `Strike <b>${f.strike(ps[0].value[0])}</b><br/>${ps
              .map((p) => `${p.marker}${p.seriesName}: <b>${fmtNum(p.value[1], 2)}%</b>`)
              .join("<br/>")}`;
          },
        },
        legend: { ...baseOption.legend, data: ["OTM IV", "Call IV", "Put IV"] },
        grid: { left: 42, right: 14, top: 28, bottom: 24 },
        xAxis: {
          type: "value",
          scale: true,
          ...axisStyle,
          splitLine: { show: false },
          axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => f.strike(v) },
        },
        yAxis: {
          type: "value",
          scale: true,
          ...axisStyle,
          axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => `${fmtNum(v, Number.isInteger(v) ? 0 : 1)}%` },
        },
        series: [
          otm,
          line("Call IV", s.call, COLORS.callSoft, 1, true),
          line("Put IV", s.put, COLORS.putSoft, 1, true),
        ],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}
