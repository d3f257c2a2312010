// The alert document and the trigger as alert_service and the workers send them (the shared
// contract, docs of issue 18; the rule's fields are alerts/rules.py AlertRule's), and their
// tolerant decoding: a malformed entry is left out, never drawn half.
import { asObject } from "../messages";

/** What a rule watches (alerts/rules.py Metric). */
export const METRICS = [
  "spot",
  "atm_iv",
  "iv",
  "pcr_oi",
  "pcr_volume",
  "max_pain_strike",
  "oi_change",
  "atm_straddle_price",
  "risk_reversal_25d",
  "net_gex",
  "gex_flip",
] as const;
export type Metric = (typeof METRICS)[number];

/** How the metric is compared with the threshold (alerts/rules.py Op). */
export const OPS = ["above", "below", "crosses_above", "crosses_below", "change_pct"] as const;
export type Op = (typeof OPS)[number];

/** The option side of an `iv` or `oi_change` rule (common/messages OptionType). */
export type OptionSide = "CALL" | "PUT";

/** Metrics of one option: the rule names its strike and side. */
export const OPTION_METRICS: readonly Metric[] = ["iv", "oi_change"];

/** `GET /api/alerts` entry: one rule of the signed-in user. */
export interface Alert {
  id: string;
  product: string;
  metric: Metric;
  op: Op;
  /** The threshold in the metric's own units (IV as a decimal), or a percentage for change_pct. */
  value: number;
  expiry: string | null;
  strike: number | null;
  option_type: OptionSide | null;
  /** Seconds the rule stays quiet after it fired. */
  cooldown_s: number;
  /** change_pct only: the move is measured against the value this many seconds ago. */
  window_s: number | null;
  active: boolean;
  note: string | null;
  /** Where each trigger is POSTed, signed with `webhook_secret` (shown to its owner only). */
  webhook_url: string | null;
  webhook_secret: string | null;
  created_at: string | null;
}

/** The Socket.IO `alert` event, and one entry of `GET /api/alerts/history`. */
export interface Trigger {
  trigger_id: string;
  alert_id: string;
  product: string;
  expiry: string | null;
  metric: Metric;
  op: Op;
  strike: number | null;
  option_type: OptionSide | null;
  /** The metric's value that triggered it (null: not reported). */
  value: number | null;
  /** The alert's value. */
  threshold: number;
  /** Origin timestamp of the data that triggered it. */
  timestamp: string;
  /** When the evaluation decided it. */
  triggered_at: string;
  note: string | null;
}

/** One page of `GET /api/alerts/history`: newest first; `next` asks for the older ones. */
export interface HistoryPage {
  triggers: Trigger[];
  next: string | null;
}

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const strOrNull = (v: unknown): string | null => (isStr(v) ? v : null);
const numOrNull = (v: unknown): number | null => (isNum(v) ? v : null);

export const isMetric = (v: unknown): v is Metric =>
  typeof v === "string" && (METRICS as readonly string[]).includes(v);
export const isOp = (v: unknown): v is Op => typeof v === "string" && (OPS as readonly string[]).includes(v);

/** The side of an option: the wire's CALL / PUT (NSE's CE / PE accepted too); null otherwise. */
export function optionSide(v: unknown): OptionSide | null {
  if (v === "CALL" || v === "CE") return "CALL";
  if (v === "PUT" || v === "PE") return "PUT";
  return null;
}

/** An alert document, or null when it lacks what the panel shows. */
export function parseAlert(payload: unknown): Alert | null {
  const m = asObject(payload);
  if (!m || !isStr(m.id) || !isStr(m.product) || !isMetric(m.metric) || !isOp(m.op) || !isNum(m.value)) return null;
  return {
    id: m.id,
    product: m.product,
    metric: m.metric,
    op: m.op,
    value: m.value,
    expiry: strOrNull(m.expiry),
    strike: numOrNull(m.strike),
    option_type: optionSide(m.option_type),
    cooldown_s: isNum(m.cooldown_s) ? m.cooldown_s : 0,
    window_s: numOrNull(m.window_s),
    active: m.active !== false,
    note: strOrNull(m.note),
    webhook_url: strOrNull(m.webhook_url),
    webhook_secret: strOrNull(m.webhook_secret),
    created_at: strOrNull(m.created_at),
  };
}

/** `{"alerts": [...]}`: the readable alerts, in the server's order (oldest first). */
export function parseAlerts(payload: unknown): Alert[] {
  const list = asObject(payload)?.alerts;
  return Array.isArray(list) ? list.map(parseAlert).filter((a): a is Alert => a !== null) : [];
}

/** A trigger (socket event or history entry), or null when it cannot be shown. */
export function parseTrigger(payload: unknown): Trigger | null {
  const m = asObject(payload);
  if (!m || !isStr(m.trigger_id) || !isStr(m.product) || !isMetric(m.metric) || !isOp(m.op)) return null;
  if (!isNum(m.threshold) || !isStr(m.timestamp)) return null;
  return {
    trigger_id: m.trigger_id,
    alert_id: isStr(m.alert_id) ? m.alert_id : "",
    product: m.product,
    expiry: strOrNull(m.expiry),
    metric: m.metric,
    op: m.op,
    strike: numOrNull(m.strike),
    option_type: optionSide(m.option_type),
    value: numOrNull(m.value),
    threshold: m.threshold,
    timestamp: m.timestamp,
    triggered_at: isStr(m.triggered_at) ? m.triggered_at : m.timestamp,
    note: strOrNull(m.note),
  };
}

/** `{"triggers": [...], "next": cursor|null}`. */
export function parseHistory(payload: unknown): HistoryPage {
  const m = asObject(payload);
  const list = Array.isArray(m?.triggers) ? m.triggers : [];
  return {
    triggers: list.map(parseTrigger).filter((t): t is Trigger => t !== null),
    next: strOrNull(m?.next),
  };
}

/** Newest first by when they were decided (then by id, so the order is stable); one per trigger_id. */
export function mergeTriggers(a: readonly Trigger[], b: readonly Trigger[]): Trigger[] {
  const byId = new Map<string, Trigger>();
  for (const t of [...a, ...b]) if (!byId.has(t.trigger_id)) byId.set(t.trigger_id, t);
  const at = (t: Trigger) => Date.parse(t.triggered_at) || 0;
  return [...byId.values()].sort((x, y) => at(y) - at(x) || (x.trigger_id < y.trigger_id ? -1 : 1));
}
