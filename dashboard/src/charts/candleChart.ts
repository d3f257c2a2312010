// Candles of the underlying (TradingView Lightweight Charts): the candles route for history, then
// the forming candle of `underlying_update` (ohlc_1min / ohlc_5min / ohlc_15min) live. Times are
// shown in the browser's time zone.
import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  TickMarkType,
  createChart,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { formatsFor, type Formats } from "../format";
import type { Interval } from "../api";
import { barFromLive, type Bar } from "../bars";
import type { EnrichedUnderlying } from "../types";
import { COLORS, FONT } from "./echarts";

const FIELD: Record<Interval, "ohlc_1min" | "ohlc_5min" | "ohlc_15min"> = {
  "1m": "ohlc_1min",
  "5m": "ohlc_5min",
  "15m": "ohlc_15min",
};

const pad = (x: number) => String(x).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function localTick(time: Time, type: TickMarkType): string {
  const d = new Date((time as number) * 1000);
  switch (type) {
    case TickMarkType.Year:
      return String(d.getFullYear());
    case TickMarkType.Month:
      return MONTHS[d.getMonth()];
    case TickMarkType.DayOfMonth:
      return `${d.getDate()} ${MONTHS[d.getMonth()]}`;
    default:
      return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
}

function localTime(time: Time): string {
  const d = new Date((time as number) * 1000);
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const UP = "#26a69a";
const DOWN = "#ef5350";

export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<"Candlestick">;
  private readonly volume: ISeriesApi<"Histogram">;
  private lastTime: number | null = null;
  interval: Interval = "1m";
  /** Live bars are held back until the history is drawn (they may be older than it). */
  private loading = true;
  private queued: Bar | null = null;
  /** Prices on the axis and crosshair in the selection's currency. */
  formats: Formats = formatsFor(null);

  constructor(private readonly el: HTMLElement) {
    this.chart = createChart(el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: "transparent" },
        textColor: COLORS.muted,
        fontFamily: FONT,
        fontSize: 11,
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      rightPriceScale: { borderColor: COLORS.axis },
      timeScale: {
        borderColor: COLORS.axis,
        timeVisible: true,
        secondsVisible: false,
        tickMarkFormatter: localTick,
        rightOffset: 3,
      },
      localization: { timeFormatter: localTime, priceFormatter: (p: number) => this.formats.num(p, 2) },
      crosshair: { mode: CrosshairMode.Normal },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderUpColor: UP,
      borderDownColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceScaleId: "",
      priceFormat: { type: "volume" },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.22 } });
  }

  /** Empty the chart and hold live bars until `load` (a new product or interval). */
  reset(interval: Interval): void {
    this.interval = interval;
    this.loading = true;
    this.queued = null;
    this.lastTime = null;
    this.candles.setData([]);
    this.volume.setData([]);
    this.el.dataset.rendered = "false";
  }

  load(bars: Bar[]): void {
    const sorted = dedupe(bars);
    this.candles.setData(sorted.map(toCandle));
    this.volume.setData(sorted.map(toVolume));
    this.lastTime = sorted.length ? sorted[sorted.length - 1].time : null;
    this.loading = false;
    const q = this.queued;
    this.queued = null;
    if (q) this.put(q);
    if (sorted.length) this.chart.timeScale().scrollToRealTime();
    this.markRendered();
  }

  live(u: EnrichedUnderlying): void {
    const bar = barFromLive(u[FIELD[this.interval]]);
    if (!bar) return;
    if (this.loading) {
      this.queued = bar;
      return;
    }
    this.put(bar);
  }

  private put(bar: Bar): void {
    if (this.lastTime !== null && bar.time < this.lastTime) return; // older than the newest drawn
    this.candles.update(toCandle(bar));
    this.volume.update(toVolume(bar));
    this.lastTime = bar.time;
    this.markRendered();
  }

  private markRendered(): void {
    if (this.lastTime === null) return;
    requestAnimationFrame(() => {
      if (this.lastTime !== null) this.el.dataset.rendered = "true";
    });
  }
}

function dedupe(bars: Bar[]): Bar[] {
  const byTime = new Map<number, Bar>();
  for (const b of bars) byTime.set(b.time, b);
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

const toCandle = (b: Bar): CandlestickData<Time> => ({
  time: b.time as UTCTimestamp,
  open: b.open,
  high: b.high,
  low: b.low,
  close: b.close,
});
const toVolume = (b: Bar): HistogramData<Time> => ({
  time: b.time as UTCTimestamp,
  value: b.volume,
  color: b.close >= b.open ? "rgba(38,166,154,0.35)" : "rgba(239,83,80,0.35)",
});
