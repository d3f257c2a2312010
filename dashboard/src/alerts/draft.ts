// The create-alert form's content: the draft it opens with (from a tile: the tile's metric with its
// current value as threshold; from a strike of the chain: that option's IV or OI change), the local
// checks of alerts/rules.py's check_rule and AlertRule bounds before anything is sent, the body of
// `POST /api/alerts`, and the server's refusals (422 naming the field, 409 at the limit) as errors
// beside the fields.
import { ApiError, describeError } from "../auth";
import { moneyLevel } from "../chain";
import { num } from "../format";
import type { DashState } from "../state/model";
import type { EnrichedChain } from "../types";
import { OPTION_METRICS, type Metric, type Op, type OptionSide } from "./model";
import { METRIC_INFO, thresholdScale } from "./text";

/** The metrics a tile offers an alert on, each with its tile. */
export type TileMetric = Exclude<Metric, "iv" | "oi_change">;

export const DEFAULT_COOLDOWN_S = 300;
export const MAX_COOLDOWN_S = 7 * 86_400;
export const MIN_WINDOW_S = 60;
export const MAX_WINDOW_S = 86_400;
export const MAX_NOTE = 280;
export const MAX_WEBHOOK_URL = 2048;
/** A change_pct rule's move and window when the form switches to it. */
export const DEFAULT_MOVE_PCT = "5";
export const DEFAULT_WINDOW_S = "300";

/** Field name (the server's: `value`, `window_s`…) → why it is refused. */
export type FieldErrors = Partial<Record<string, string>>;

/** What the form's fields hold, as typed (the threshold in its typed unit, see thresholdScale). */
export interface DraftValues {
  metric: Metric;
  op: Op;
  threshold: string;
  /** null: the product's nearest expiry (and always for the spot). */
  expiry: string | null;
  side: OptionSide | null;
  cooldown: string;
  window: string;
  note: string;
  /** Where each trigger is POSTed; "" for none. */
  webhook: string;
}

/** The form as it opens: where it came from, what it cannot change, and its first values. */
export interface AlertDraft {
  origin: "tile" | "strike";
  product: string;
  /** The strike of a form opened from the chain; null from a tile. */
  strike: number | null;
  /** The product's expiries, for the expiry choice. */
  expiries: string[];
  /** The metrics the form offers (one from a tile; IV and OI change from a strike). */
  metrics: Metric[];
  /** The current values the threshold is prefilled with, by currentKey. */
  current: Partial<Record<string, number>>;
  values: DraftValues;
}

/** What `POST /api/alerts` takes. */
export interface AlertBody {
  product: string;
  metric: Metric;
  op: Op;
  value: number;
  expiry?: string;
  strike?: number;
  option_type?: OptionSide;
  cooldown_s: number;
  window_s?: number;
  note?: string;
  webhook_url?: string;
}

export const currentKey = (metric: Metric, side: OptionSide | null): string =>
  OPTION_METRICS.includes(metric) && side ? `${metric}:${side}` : metric;

/** `v` rounded to `decimals` without trailing zeros: 25.3100001 → "25.31". */
export function roundText(v: number, decimals: number): string {
  return String(Number(v.toFixed(decimals)));
}

/** The threshold the form shows for these choices: the current value in the typed unit, or a 5 %
 * move for change_pct; "" when the value is not known. */
export function prefillThreshold(
  draft: Pick<AlertDraft, "current">,
  metric: Metric,
  op: Op,
  side: OptionSide | null,
): string {
  if (op === "change_pct") return DEFAULT_MOVE_PCT;
  const v = draft.current[currentKey(metric, side)];
  return v === undefined ? "" : roundText(v * thresholdScale(metric, op), METRIC_INFO[metric].decimals);
}

/** The newest chain of the selection: the one shown, or while the page shows a past instant (time
 * travel), the live one it holds. Alerts watch what comes, so their thresholds start from it. */
export function liveChain(s: DashState): EnrichedChain | null {
  return s.travel.at !== null ? s.travel.held : s.data.chain;
}

/** A tile's metric now: the live spot (else the chain's), or the newest chain's statistic. */
export function tileValue(s: DashState, metric: TileMetric): number | null {
  const chain = liveChain(s);
  if (metric === "spot") return num(s.data.underlying?.price) ?? num(chain?.spot_price);
  return chain ? num(chain[metric]) : null;
}

function draft(
  s: DashState,
  origin: AlertDraft["origin"],
  metrics: Metric[],
  values: Partial<DraftValues>,
): AlertDraft | null {
  const { product, expiry } = s.selection;
  if (!product) return null;
  const expiries = s.products.find((p) => p.product === product)?.expiries ?? [];
  return {
    origin,
    product,
    strike: null,
    expiries,
    metrics,
    current: {},
    values: {
      metric: metrics[0],
      op: "crosses_above",
      threshold: "",
      expiry: metrics[0] === "spot" ? null : expiry,
      side: null,
      cooldown: String(DEFAULT_COOLDOWN_S),
      window: "",
      note: "",
      webhook: "",
      ...values,
    },
  };
}

/** The form of a tile's metric on the selected product and expiry; null without a product. */
export function tileDraft(s: DashState, metric: TileMetric): AlertDraft | null {
  const d = draft(s, "tile", [metric], {});
  if (!d) return null;
  const v = tileValue(s, metric);
  if (v !== null) d.current[metric] = v;
  d.values.threshold = prefillThreshold(d, metric, d.values.op, null);
  return d;
}

/** The form of one strike of the newest chain: its out-of-the-money side first, IV, prefilled with
 * that option's IV. Null when the strike is not in the chain. */
export function strikeDraft(s: DashState, strike: number): AlertDraft | null {
  const chain = liveChain(s);
  const i = chain ? chain.strikes.indexOf(strike) : -1;
  if (!chain || i < 0) return null;
  const side: OptionSide = strike >= moneyLevel(chain) ? "CALL" : "PUT";
  const d = draft(s, "strike", ["iv", "oi_change"], { side, expiry: chain.expiry });
  if (!d) return null;
  d.strike = strike;
  for (const [key, row] of [
    ["CALL", chain.calls[i]],
    ["PUT", chain.puts[i]],
  ] as const) {
    for (const metric of OPTION_METRICS) {
      const v = num(row?.[metric as "iv" | "oi_change"]);
      if (v !== null) d.current[`${metric}:${key}`] = v;
    }
  }
  d.values.threshold = prefillThreshold(d, "iv", d.values.op, side);
  return d;
}

/** A number as typed ("24,000.5", " 25 "); null when empty, NaN when not a number. */
export function parseNumber(text: string): number | null {
  const t = text.replace(/[,\s_]/g, "");
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

const wholeIn = (n: number | null, lo: number, hi: number): n is number =>
  n !== null && Number.isInteger(n) && n >= lo && n <= hi;

/** The checks of `metric`/`op`'s own fields (threshold, window); adds to `errors`. */
function checkThreshold(v: DraftValues, errors: FieldErrors): number | null {
  const value = parseNumber(v.threshold);
  if (value === null || Number.isNaN(value)) errors.value = "Enter a number";
  else if (v.op === "change_pct" && !(value > 0)) errors.value = "A move above 0 %";
  if (v.op === "change_pct" && !wholeIn(parseNumber(v.window), MIN_WINDOW_S, MAX_WINDOW_S)) {
    errors.window_s = `Whole seconds from ${MIN_WINDOW_S} to ${MAX_WINDOW_S.toLocaleString("en-US")}`;
  }
  return value === null || Number.isNaN(value) ? null : value;
}

/** The body to send, or the fields refused with why (as alerts/rules.py would refuse them). */
export function validateDraft(d: AlertDraft, v: DraftValues): { body: AlertBody } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!d.metrics.includes(v.metric)) errors.metric = "Not offered here";
  const value = checkThreshold(v, errors);
  const option = OPTION_METRICS.includes(v.metric);
  if (option && v.side === null) errors.option_type = "Choose call or put";
  if (option && !(d.strike !== null && d.strike > 0)) errors.strike = "A positive strike";
  if (v.metric === "spot" && v.expiry !== null) errors.expiry = "The spot has no expiry";
  const cooldown = parseNumber(v.cooldown);
  if (!wholeIn(cooldown, 0, MAX_COOLDOWN_S)) {
    errors.cooldown_s = `Whole seconds from 0 to ${MAX_COOLDOWN_S.toLocaleString("en-US")}`;
  }
  const note = v.note.trim();
  if (note.length > MAX_NOTE) errors.note = `At most ${MAX_NOTE} characters`;
  const webhook = v.webhook.trim();
  if (webhook && !isHttpUrl(webhook)) errors.webhook_url = "An http:// or https:// address";
  if (Object.keys(errors).length || value === null || cooldown === null) return { errors };
  const body: AlertBody = {
    product: d.product,
    metric: v.metric,
    op: v.op,
    value: value / thresholdScale(v.metric, v.op),
    cooldown_s: cooldown,
  };
  if (v.expiry !== null && v.metric !== "spot") body.expiry = v.expiry;
  if (option && d.strike !== null && v.side !== null) {
    body.strike = d.strike;
    body.option_type = v.side;
  }
  if (v.op === "change_pct") body.window_s = parseNumber(v.window) ?? undefined;
  if (note) body.note = note;
  if (webhook) body.webhook_url = webhook;
  return { body };
}

/** An absolute http(s) URL with a host, within the length the service takes (whether its host is
 * public is the service's check: it resolves it). */
export function isHttpUrl(text: string): boolean {
  if (text.length > MAX_WEBHOOK_URL) return false;
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** The fields the form has a place for (the server's names); others are said above the buttons. */
export const FORM_FIELDS: readonly string[] = [
  "webhook_url",
  "metric",
  "op",
  "value",
  "window_s",
  "expiry",
  "option_type",
  "cooldown_s",
  "note",
];

/** A refused create as the form shows it: a 422's fields beside theirs (the others, and any other
 * refusal such as the 409 at the alert limit, in the form's message). */
export function formRefusal(err: unknown): { errors: FieldErrors; message: string | null } {
  if (!(err instanceof ApiError)) return { errors: {}, message: describeError(err) };
  if (err.status === 409) return { errors: {}, message: `Alert limit reached: ${err.message}` };
  const errors: FieldErrors = {};
  const elsewhere: string[] = [];
  for (const [field, reasons] of Object.entries(err.fields ?? {})) {
    const text = Array.isArray(reasons) ? reasons.join(" ") : String(reasons);
    if (FORM_FIELDS.includes(field)) errors[field] = text;
    else elsewhere.push(`${field}: ${text}`);
  }
  if (err.status !== 422 || (!elsewhere.length && !Object.keys(errors).length)) {
    return { errors, message: describeError(err) };
  }
  return { errors, message: elsewhere.length ? elsewhere.join("; ") : null };
}
