// Open interest by strike: calls and puts on top, their change since a baseline below.
import { oiBars, type OiBaseline, type OiBars } from "../chain";
import { fmtClock, type Formats } from "../format";
import type { EnrichedChain } from "../types";
import { COLORS, axisStyle, baseOption, dashedMarkLines, mount, type EChart } from "./echarts";

export class OiChart {
  private readonly chart: EChart;
  private bars: OiBars | null = null;

  /** `caption` shows what the change is measured against ("ΔOI since 13:07"). */
  constructor(
    private readonly el: HTMLElement,
    private readonly caption: HTMLElement | null = null,
  ) {
    this.chart = mount(el, () => (this.bars?.strikes.length ?? 0) > 0);
  }

  clear(): void {
    this.bars = null;
    this.el.dataset.rendered = "false";
    this.chart.clear();
  }

  /** Draw the strikes `strikes` ([lo, hi) indices) of `chain`, the change measured from `baseline`, in `f`. */
  update(
    chain: EnrichedChain,
    atm: number | null,
    strikes: [number, number],
    baseline: OiBaseline | null,
    f: Formats,
  ): void {
    const all = oiBars(chain, baseline?.baseline ?? null);
    const [lo, hi] = strikes;
    const pick = <T>(xs: T[]) => xs.slice(lo, hi);
    const bars: OiBars = {
      strikes: pick(all.strikes),
      callOi: pick(all.callOi),
      putOi: pick(all.putOi),
      callChange: pick(all.callChange),
      putChange: pick(all.putChange),
    };
    this.bars = bars;
    const cats = bars.strikes.map((k) => f.strike(k));
    const atmLabel = atm === null ? null : f.strike(atm);
    const maxPain = chain.max_pain_strike === null ? null : f.strike(chain.max_pain_strike);
    if (this.caption)
      this.caption.textContent = baseline === null ? "" : `ΔOI since ${fmtClock(baseline.since, false)}`;
    const marks: object[] = [];
    if (atmLabel && cats.includes(atmLabel)) {
      marks.push({
        xAxisIndex: 0,
        xAxis: atmLabel,
        label: { formatter: "ATM", color: COLORS.accent, fontSize: 10 },
        lineStyle: { color: COLORS.accent },
      });
    }
    if (maxPain && cats.includes(maxPain) && maxPain !== atmLabel) {
      marks.push({
        xAxis: maxPain,
        label: { formatter: "Max pain", position: "start", color: COLORS.amber, fontSize: 10 },
        lineStyle: { color: COLORS.amber },
      });
    }
    const markLine = dashedMarkLines(marks);
    this.chart.setOption(
      {
        ...baseOption,
        tooltip: {
          ...baseOption.tooltip,
          axisPointer: { type: "shadow" },
          formatter: (params: unknown) => {
            const ps = params as {
              dataIndex: number;
              marker: string;
              seriesName: string;
              value: number | null;
              seriesIndex: number;
            }[];
            if (!ps.length) return "";
            const i = ps[0].dataIndex;
            const lines = ps.map((p) => {
              const v = p.seriesIndex >= 2 ? f.signedQty(p.value) : f.qty(p.value);
              return `${p.marker}${p.seriesName}: <b>${v}</b>`;
            });
            return `Strike <b>${cats[i]}</b><br/>${lines.join("<br/>")}`;
          },
        },
        legend: { ...baseOption.legend, data: ["Call OI", "Put OI", "Call ΔOI", "Put ΔOI"] },
        grid: [
          { left: 46, right: 10, top: 34, height: "50%" },
          { left: 46, right: 10, top: "72%", bottom: 22 },
        ],
        xAxis: [
          {
            type: "category",
            data: cats,
            gridIndex: 0,
            ...axisStyle,
            axisLabel: { show: false },
            splitLine: { show: false },
          },
          { type: "category", data: cats, gridIndex: 1, ...axisStyle, splitLine: { show: false } },
        ],
        yAxis: [
          {
            type: "value",
            gridIndex: 0,
            ...axisStyle,
            axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => f.compact(v) },
          },
          {
            type: "value",
            gridIndex: 1,
            ...axisStyle,
            splitNumber: 2,
            axisLabel: { ...axisStyle.axisLabel, formatter: (v: number) => f.compact(v) },
          },
        ],
        series: [
          {
            name: "Call OI",
            type: "bar",
            data: bars.callOi,
            itemStyle: { color: COLORS.call },
            barGap: "10%",
            barCategoryGap: "30%",
            markLine,
          },
          { name: "Put OI", type: "bar", data: bars.putOi, itemStyle: { color: COLORS.put } },
          {
            name: "Call ΔOI",
            type: "bar",
            xAxisIndex: 1,
            yAxisIndex: 1,
            data: bars.callChange,
            itemStyle: { color: COLORS.callSoft },
            barGap: "10%",
            barCategoryGap: "30%",
          },
          {
            name: "Put ΔOI",
            type: "bar",
            xAxisIndex: 1,
            yAxisIndex: 1,
            data: bars.putChange,
            itemStyle: { color: COLORS.putSoft },
          },
        ],
      },
      { notMerge: true, lazyUpdate: true },
    );
  }
}
