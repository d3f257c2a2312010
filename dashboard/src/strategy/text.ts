// What the strategy page says of a strategy: the net premium as a debit or a credit, the limits
// ("unlimited" for an unbounded one), the breakevens, the probabilities of profit, the Greeks with
// their units, a leg and a saved strategy in a line, the dates of the curves.
import { DASH, fmtExpiry, num, type Formats } from "../format";
import type { Evaluation, Greeks, LegSide, OptionKind, SavedStrategy, WireLeg } from "./model";

export const SIDE_LABEL: Record<LegSide, string> = { BUY: "Buy", SELL: "Sell" };
export const KIND_LABEL: Record<OptionKind, string> = { CALL: "Call", PUT: "Put" };

/** "Debit 120.50" (paid), "Credit 95.00" (received), "0.00" (neither): Σ ±quantity·price, BUY +. */
export function premiumText(net: number, f: Formats): string {
  if (net === 0) return f.num(0, 2);
  return `${net > 0 ? "Debit" : "Credit"} ${f.num(Math.abs(net), 2)}`;
}

/** A profit or loss limit: the amount, or "unlimited" when the service says it is unbounded. */
export function limitText(v: number | null, f: Formats): string {
  return v === null ? "unlimited" : f.num(v, 2);
}

/** "23,812.40 · 24,187.60"; "none" when the P&L never crosses zero. */
export function breakevensText(levels: number[], f: Formats): string {
  return levels.length ? levels.map((b) => f.num(b, 2)).join(" · ") : "none";
}

/** A probability as a percentage with one decimal: 0.6234 → "62.3%". */
export function probabilityText(p: number | null): string {
  const n = num(p);
  return n === null ? DASH : `${(n * 100).toFixed(1)}%`;
}

export interface GreekLine {
  key: keyof Greeks;
  label: string;
  value: string;
  unit: string;
}

/** The strategy's Greeks, each with its unit (theta per day, vega per vol point). */
export function greekLines(g: Greeks | null, f: Formats): GreekLine[] {
  const v = (x: number | undefined, dp: number) => (g ? f.num(x, dp) : DASH);
  return [
    { key: "delta", label: "Delta", value: v(g?.delta, 2), unit: "per 1 of spot" },
    { key: "gamma", label: "Gamma", value: v(g?.gamma, 4), unit: "delta per 1 of spot" },
    { key: "theta", label: "Theta", value: v(g?.theta, 2), unit: `${f.currency} per day` },
    { key: "vega", label: "Vega", value: v(g?.vega, 2), unit: `${f.currency} per vol point` },
  ];
}

/** "Buy 75 × 24,000 Call · 26 Nov (Thu) · 5d", "Sell 1 × underlying". */
export function legText(leg: Omit<WireLeg, "price">, f: Formats, today: string): string {
  const qty = `${SIDE_LABEL[leg.side]} ${f.qty(leg.quantity)} ×`;
  if (leg.option_type === null) return `${qty} underlying`;
  const expiry = leg.expiry ? ` · ${fmtExpiry(leg.expiry, today)}` : "";
  return `${qty} ${f.strike(leg.strike)} ${KIND_LABEL[leg.option_type]}${expiry}`;
}

/** A saved strategy in a line: "NIFTY · 4 legs · 10 Dec". */
export function savedSummary(s: SavedStrategy, today: string): string {
  const expiries = [...new Set(s.legs.map((l) => l.expiry).filter((e): e is string => e !== null))].sort();
  const first = expiries.length ? ` · ${fmtExpiry(expiries[0], today).split(" · ")[0]}` : "";
  const count = `${s.legs.length} leg${s.legs.length === 1 ? "" : "s"}`;
  return `${s.legs[0]?.product ?? ""} · ${count}${first}`;
}

/** A curve's moment as its legend names it: "12 Dec 10:00 UTC". */
export function curveLabel(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** Where the limits come from, when not exact: the later legs make the P&L smooth. */
export function limitsNote(e: Pick<Evaluation, "limits_exact">): string | null {
  return e.limits_exact ? null : "Limits over the chart's range (later expiries price by their IV)";
}

/** The mass of the density beyond the chart's spots, when it is worth saying (≥ 0.1 %). */
export function outsideText(mass: number | null): string | null {
  return mass !== null && mass >= 0.001 ? `${(mass * 100).toFixed(1)}% of the density beyond the chart` : null;
}
