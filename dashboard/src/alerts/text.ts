// How alerts and triggers read on the page: each metric's label, unit and number format (in the
// product's currency), the operators, a rule in one line, a trigger's value against its threshold.
import type { ProductInfo } from "../api";
import { DASH, fmtClock, fmtExpiry, fmtPct, fmtRatio, fmtVolPts, formatsFor, num, type Formats } from "../format";
import type { Alert, Metric, Op, OptionSide, Trigger } from "./model";

interface MetricInfo {
  label: string;
  /** What the threshold is typed in, beside its field. */
  unit: (f: Formats) => string;
  /** The threshold is typed in this many of the metric's units (IV as a decimal is typed in %). */
  scale: number;
  /** Decimals of a prefilled threshold, in the typed unit. */
  decimals: number;
  format: (v: number, f: Formats) => string;
}

const money = (v: number, f: Formats) => f.num(v, 2);

export const METRIC_INFO: Record<Metric, MetricInfo> = {
  spot: { label: "Spot", unit: (f) => f.currency, scale: 1, decimals: 2, format: money },
  atm_iv: { label: "ATM IV", unit: () => "%", scale: 100, decimals: 2, format: (v) => fmtPct(v) },
  iv: { label: "IV", unit: () => "%", scale: 100, decimals: 2, format: (v) => fmtPct(v) },
  pcr_oi: { label: "PCR (OI)", unit: () => "ratio", scale: 1, decimals: 2, format: (v) => fmtRatio(v) },
  pcr_volume: { label: "PCR (Vol)", unit: () => "ratio", scale: 1, decimals: 2, format: (v) => fmtRatio(v) },
  max_pain_strike: { label: "Max pain", unit: (f) => f.currency, scale: 1, decimals: 2, format: (v, f) => f.strike(v) },
  oi_change: { label: "OI change", unit: () => "contracts", scale: 1, decimals: 2, format: (v, f) => f.signedQty(v) },
  atm_straddle_price: { label: "ATM straddle", unit: (f) => f.currency, scale: 1, decimals: 2, format: money },
  risk_reversal_25d: {
    label: "25Δ RR",
    unit: () => "vol pts",
    scale: 100,
    decimals: 2,
    format: (v) => fmtVolPts(v),
  },
  net_gex: {
    label: "Net GEX",
    unit: (f) => `${f.currency} per 1%`,
    scale: 1,
    decimals: 0,
    format: (v, f) => f.compact(v),
  },
  gex_flip: { label: "GEX flip", unit: (f) => f.currency, scale: 1, decimals: 2, format: money },
};

export const OP_LABEL: Record<Op, string> = {
  above: "above",
  below: "below",
  crosses_above: "crosses above",
  crosses_below: "crosses below",
  change_pct: "moves by",
};

export const SIDE_LABEL: Record<OptionSide, string> = { CALL: "Call", PUT: "Put" };

/** The threshold's unit as typed: a percentage for change_pct, else the metric's. */
export function thresholdUnit(metric: Metric, op: Op, f: Formats): string {
  return op === "change_pct" ? "% move" : METRIC_INFO[metric].unit(f);
}

/** How many of the metric's units one typed unit of the threshold is worth (1/100 for IV in %). */
export function thresholdScale(metric: Metric, op: Op): number {
  return op === "change_pct" ? 1 : METRIC_INFO[metric].scale;
}

/** A window of seconds: "45 s", "5 min", "1 h 30 min". */
export function fmtWindow(seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds} s`;
  const m = seconds / 60;
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** A value of `metric` in its format ("25.31%", "24,012.35", "1.2M"). */
export function fmtMetric(metric: Metric, v: number | null, f: Formats): string {
  const n = num(v);
  return n === null ? DASH : METRIC_INFO[metric].format(n, f);
}

/** The rule's threshold as read: the metric's format, or "5% in 5 min" for change_pct. */
export function fmtThreshold(rule: Pick<Alert, "metric" | "op" | "value" | "window_s">, f: Formats): string {
  if (rule.op !== "change_pct") return fmtMetric(rule.metric, rule.value, f);
  const within = rule.window_s ? ` in ${fmtWindow(rule.window_s)}` : "";
  return `${f.num(rule.value, 2).replace(/\.00$/, "")}%${within}`;
}

/** "24,000 Call"; null for a rule of no option. */
export function optionText(strike: number | null, side: OptionSide | null, f: Formats): string | null {
  return strike === null || side === null ? null : `${f.strike(strike)} ${SIDE_LABEL[side]}`;
}

/** "IV 24,000 Call", "Spot": the metric and, for an option's, which option. */
export function subjectText(rule: Pick<Alert, "metric" | "strike" | "option_type">, f: Formats): string {
  const option = optionText(rule.strike, rule.option_type, f);
  return option ? `${METRIC_INFO[rule.metric].label} ${option}` : METRIC_INFO[rule.metric].label;
}

/** "NIFTY · IV 24,000 Call crosses above 25.00%": the rule in one line (buttons' labels say it). */
export function ruleText(
  rule: Pick<Alert, "product" | "metric" | "op" | "value" | "strike" | "option_type" | "window_s">,
  f: Formats,
): string {
  return `${rule.product} · ${subjectText(rule, f)} ${OP_LABEL[rule.op]} ${fmtThreshold(rule, f)}`;
}

/** The expiry a rule watches: its date, "nearest" (none named), or "—" for the spot (none). */
export function expiryText(rule: Pick<Alert, "metric" | "expiry">, today: string): string {
  if (rule.metric === "spot") return DASH;
  return rule.expiry ? fmtExpiry(rule.expiry, today) : "nearest expiry";
}

/** A trigger as a toast and a history line show it. */
export interface TriggerText {
  /** "NIFTY · ATM IV crosses above". */
  title: string;
  value: string;
  threshold: string;
  /** The data's own time, local: "09:41:00", with the date when not `today`. */
  at: string;
}

/** Local "09:41:00" of a wire timestamp, "6 Dec 09:41:00" when its local date is not `today`. */
export function fmtWhen(ts: string, today: string): string {
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms)) return DASH;
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, "0");
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (date === today) return fmtClock(ms);
  const month = d.toLocaleString("en-GB", { month: "short" });
  return `${d.getDate()} ${month} ${fmtClock(ms)}`;
}

export function triggerText(t: Trigger, f: Formats, today: string): TriggerText {
  return {
    title: `${t.product} · ${subjectText(t, f)} ${OP_LABEL[t.op]}`,
    value: fmtMetric(t.metric, t.value, f),
    threshold: fmtThreshold({ metric: t.metric, op: t.op, value: t.threshold, window_s: null }, f),
    at: fmtWhen(t.timestamp, today),
  };
}

/** The number formats of `product`'s currency by the listing (a trigger may be of any product). */
export function formatsOfProduct(products: readonly ProductInfo[], product: string): Formats {
  return formatsFor(products.find((p) => p.product === product)?.currency);
}
