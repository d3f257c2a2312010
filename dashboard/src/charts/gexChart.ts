// Dealer gamma exposure by strike: the calls' above zero, the puts' below, the net as a line;
// the call wall, the put wall and the zero-gamma flip marked.
import { gexBars, nearestStrike, type GexBars } from "../chain";
import type { Formats } from "../format";
import type { EnrichedChain } from "../types";
import { COLORS, axisStyle, baseOption, dashedMarkLines, mount, type EChart } from "./echarts";

/** The marks of a chain inside the strike window `cats` (formatted strikes): each wall at its
 * strike, the flip at the strike nearest it with its own level in the label. */
export function gexMarks(
  chain: Pick<EnrichedChain, "strikes" | "call_wall" | "put_wall" | "gex_flip">,
  cats: string[],
  f: Pick<Formats, "strike">,
): GexMark[] {
  const marks: GexMark[] = [];
  const add = (strike: number | null | undefined, label: string, color: string, position: GexMark["position"]) => {
    if (strike == null) return;
    const at = f.strike(strike);
    if (cats.includes(at)) marks.push({ at, label, color, position });
  };
  // Labels at the top, the bottom and the middle of their lines: marks on neighbouring
  // strikes (a wall beside the flip) do not print over each other.
  add(chain.call_wall, "Call wall", COLORS.call, "end");
  add(chain.put_wall, "Put wall", COLORS.put, "start");
  const flip = chain.gex_flip ?? null;
  add(nearestStrike(chain.strikes, flip), `Flip ${f.strike(flip)}`, COLORS.amber, "middle");
  return marks;
}

/** A vertical mark: at the formatted strike `at`, its label where on the line. */
export interface GexMark {
  at: string;
  label: string;
  color: string;
  position: "start" | "middle" | "end";
}

export class GexChart {
  private readonly chart: EChart;
  private bars: GexBars | null = null;

  constructor(private readonly el: HTMLElement) {
    this.chart = mount(el, () => (this.bars?.strikes.length ?? 0) > 0);
  }

  clear(): void {
    this.bars = null;
    this.el.dataset.rendered = "false";
    this.chart.clear();
  }

  /** Draw the strikes `strikes` ([lo, hi) indices) of `chain`, in `f`. */
  update(chain: EnrichedChain, strikes: [number, number], f: Formats): void {
    const all = gexBars(chain);
    const [lo, hi] = strikes;
    const pick = <T>(xs: T[]) => xs.slice(lo, hi);
    const bars: GexBars = { strikes: pick(all.strikes), call: pick(all.call), put: pick(all.put), net: pick(all.net) };
    this.bars = bars;
    const cats = bars.strikes.map((k) => f.strike(k));
    const marks = gexMarks(chain, cats, f).map((m) => ({
      xAxis: m.at,
      label: { formatter: m.label, color: m.color, fontSize: 10, position: m.position },
      lineStyle: { color: m.color },
    }));
    const markLine = dashedMarkLines(marks);
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          axisPointer: { type: "shadow" },
          formatter: (params: unknown) => {
            const ps = params as { dataIndex: number; marker: string; seriesName: string; value: number | null }[];
            if (!ps.length) return "";
            const lines = ps.map((p) => `${p.marker}${p.seriesName}: <b>${f.compact(p.value)}</b>`);
            return `Strike <b>${cats[ps[0].dataIndex]}</b><br/>${lines.join("<br/>")}`;
          },
        },
        legend: { ...baseOption.legend, data: ["Call GEX", "Put GEX", "Net"] },
        grid: { left: 52, right: 10, top: 34, bottom: 22 },
        xAxis: { type: "category", data: cats, ...axisStyle, splitLine: { show: false } },
        yAxis: {
          type: "value",
          ...axisStyle,
          axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => f.compact(v) },
        },
        series: [
          {
            name: "Call GEX",
            type: "bar",
            stack: "gex",
            data: bars.call,
            itemStyle: { color: COLORS.call },
            barCategoryGap: "30%",
            markLine,
          },
          { name: "Put GEX", type: "bar", stack: "gex", data: bars.put, itemStyle: { color: COLORS.put } },
          { name: "Net", type: "line", data: bars.net, itemStyle: { color: COLORS.accent }, symbolSize: 4 },
        ],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}
