// Strategies over REST as paper_service answers them (the contract of issue 19: evaluate, templates,
// saved strategies), and their tolerant decoding: a leg that cannot be read makes its strategy
// unreadable (a strategy with a leg left out would show another risk), a saved strategy that cannot
// be read is left out of the list, optional numbers that are missing read as null.
import { num } from "../format";
import { asObject } from "../messages";

/** A leg's option: a call, a put; null is the underlying itself. */
export type OptionKind = "CALL" | "PUT";
/** BUY is long the leg (pays its price), SELL short it (receives it). */
export type LegSide = "BUY" | "SELL";

/** A leg as `POST /api/strategies/evaluate` and the saved strategies take it. */
export interface WireLeg {
  product: string;
  /** null for the underlying. */
  expiry: string | null;
  strike: number | null;
  option_type: OptionKind | null;
  side: LegSide;
  /** Units of the underlying (never contracts). */
  quantity: number;
  /** Per unit, the chain's currency; null: the live mid of the row (the underlying: live spot). */
  price: number | null;
}

/** A leg of an evaluation: the price it was valued at and its IV (null for the underlying). */
export interface ValuedLeg extends WireLeg {
  price: number;
  iv: number | null;
}

/** A P&L curve at a moment between now and the first expiry. */
export interface DatedCurve {
  at: string;
  pnl: number[];
}

export interface Greeks {
  /** Per unit of the underlying. */
  delta: number;
  gamma: number;
  /** Per calendar day. */
  theta: number;
  /** Per vol point of a parallel shift of every smile. */
  vega: number;
}

/** `POST /api/strategies/evaluate`'s 200; amounts in `currency`. */
export interface Evaluation {
  product: string;
  currency: string | null;
  spot: number;
  /** The newest chain timestamp used. */
  as_of: string | null;
  /** A chain used is older than its product's limit. */
  stale: boolean;
  /** The first expiry, when its options expire. */
  expiry: string | null;
  expires_at: string | null;
  legs: ValuedLeg[];
  /** Σ ±quantity·price, BUY +: positive is paid (a debit), negative received (a credit). */
  net_premium: number;
  breakevens: number[];
  /** null: unbounded. */
  max_profit: number | null;
  /** A positive amount when a loss is possible; null: unbounded. */
  max_loss: number | null;
  /** Found on the pieces of a one-expiry strategy, not over the grid. */
  limits_exact: boolean;
  greeks: Greeks | null;
  /** P(P&L at the first expiry > 0) under the smile's risk-neutral density, and the lognormal's. */
  pop: number | null;
  pop_lognormal: number | null;
  atm_iv: number | null;
  payoff: { spots: number[]; expiry: number[]; today: number[]; dates: DatedCurve[] };
  density: { spots: number[]; risk_neutral: number[]; lognormal: number[]; outside_mass: number | null } | null;
  model: string | null;
}

/** A saved strategy of the signed-in user. */
export interface SavedStrategy {
  id: string;
  name: string;
  legs: WireLeg[];
  note: string | null;
  created_at: string | null;
  updated_at: string | null;
}

/** The templates the service builds around ATM (optionsmath/strategy/templates.py). */
export const TEMPLATES = [
  "straddle",
  "strangle",
  "bull_call_spread",
  "bear_call_spread",
  "bull_put_spread",
  "bear_put_spread",
  "iron_condor",
  "butterfly",
  "calendar",
] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export const TEMPLATE_LABEL: Record<TemplateName, string> = {
  straddle: "Straddle",
  strangle: "Strangle",
  bull_call_spread: "Bull call spread",
  bear_call_spread: "Bear call spread",
  bull_put_spread: "Bull put spread",
  bear_put_spread: "Bear put spread",
  iron_condor: "Iron condor",
  butterfly: "Butterfly",
  calendar: "Calendar",
};

/** Templates that take an option type (the others fix theirs). */
export const TYPED_TEMPLATES: readonly TemplateName[] = ["butterfly", "calendar"];

/** Legs a strategy may hold, and dates it may ask curves at (the service's bounds). */
export const MAX_LEGS = 12;
export const MAX_DATES = 4;

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const strOrNull = (v: unknown): string | null => (isStr(v) ? v : null);
const numbers = (v: unknown): number[] | null =>
  Array.isArray(v) && v.every((x) => num(x) !== null) ? (v as number[]) : null;

/** A leg, or null when it is not one (a side, type or number that cannot be read). */
export function parseLeg(v: unknown): WireLeg | null {
  const m = asObject(v);
  if (!m || !isStr(m.product) || (m.side !== "BUY" && m.side !== "SELL")) return null;
  const quantity = num(m.quantity);
  if (quantity === null || quantity <= 0) return null;
  const price = m.price === null || m.price === undefined ? null : num(m.price);
  if (price === null && m.price !== null && m.price !== undefined) return null;
  const leg = { product: m.product, side: m.side, quantity, price } as const;
  if (m.option_type === null || m.option_type === undefined) {
    return { ...leg, expiry: null, strike: null, option_type: null };
  }
  const strike = num(m.strike);
  if ((m.option_type !== "CALL" && m.option_type !== "PUT") || strike === null || !isStr(m.expiry)) return null;
  return { ...leg, expiry: m.expiry, strike, option_type: m.option_type };
}

/** Every leg, or null when one cannot be read (or there is none). */
export function parseLegs(v: unknown): WireLeg[] | null {
  if (!Array.isArray(v) || !v.length) return null;
  const legs = v.map(parseLeg);
  return legs.every((l): l is WireLeg => l !== null) ? legs : null;
}

function parseGreeks(v: unknown): Greeks | null {
  const m = asObject(v);
  if (!m) return null;
  const [delta, gamma, theta, vega] = [m.delta, m.gamma, m.theta, m.vega].map(num);
  return delta === null || gamma === null || theta === null || vega === null ? null : { delta, gamma, theta, vega };
}

function parsePayoff(v: unknown): Evaluation["payoff"] | null {
  const m = asObject(v);
  const spots = numbers(m?.spots);
  const expiry = numbers(m?.expiry);
  const today = numbers(m?.today);
  if (!m || !spots || !expiry || !today || expiry.length !== spots.length || today.length !== spots.length) return null;
  const dates: DatedCurve[] = [];
  for (const d of Array.isArray(m.dates) ? m.dates : []) {
    const o = asObject(d);
    const pnl = numbers(o?.pnl);
    if (o && isStr(o.at) && pnl && pnl.length === spots.length) dates.push({ at: o.at, pnl });
  }
  return { spots, expiry, today, dates };
}

function parseDensity(v: unknown): Evaluation["density"] {
  const m = asObject(v);
  const spots = numbers(m?.spots);
  const rn = numbers(m?.risk_neutral);
  const ln = numbers(m?.lognormal);
  if (!m || !spots || !rn || !ln || rn.length !== spots.length || ln.length !== spots.length) return null;
  return { spots, risk_neutral: rn, lognormal: ln, outside_mass: num(m.outside_mass) };
}

function parseValuedLegs(v: unknown): ValuedLeg[] | null {
  if (!Array.isArray(v)) return null;
  const out: ValuedLeg[] = [];
  for (const item of v) {
    const leg = parseLeg(item);
    const price = num(asObject(item)?.price);
    if (!leg || price === null) return null;
    out.push({ ...leg, price, iv: num(asObject(item)?.iv) });
  }
  return out;
}

const limit = (v: unknown): number | null | undefined => (v === null ? null : (num(v) ?? undefined));

/** An evaluation, or null when what the page draws cannot be read (spot, premium, the curves,
 * the limits); the density, Greeks and PoPs may be missing. */
export function parseEvaluation(v: unknown): Evaluation | null {
  const m = asObject(v);
  if (!m || !isStr(m.product)) return null;
  const spot = num(m.spot);
  const net = num(m.net_premium);
  const payoff = parsePayoff(m.payoff);
  const legs = parseValuedLegs(m.legs);
  const breakevens = numbers(m.breakevens);
  const [maxProfit, maxLoss] = [limit(m.max_profit), limit(m.max_loss)];
  if (spot === null || net === null || !payoff || !legs || !breakevens) return null;
  if (maxProfit === undefined || maxLoss === undefined) return null;
  return {
    product: m.product,
    currency: strOrNull(m.currency),
    spot,
    as_of: strOrNull(m.as_of),
    stale: m.stale === true,
    expiry: strOrNull(m.expiry),
    expires_at: strOrNull(m.expires_at),
    legs,
    net_premium: net,
    breakevens,
    max_profit: maxProfit,
    max_loss: maxLoss,
    limits_exact: m.limits_exact === true,
    greeks: parseGreeks(m.greeks),
    pop: num(m.pop),
    pop_lognormal: num(m.pop_lognormal),
    atm_iv: num(m.atm_iv),
    payoff,
    density: parseDensity(m.density),
    model: strOrNull(m.model),
  };
}

/** A saved strategy, or null when its id, name or legs cannot be read. */
export function parseSaved(v: unknown): SavedStrategy | null {
  const m = asObject(v);
  const legs = parseLegs(m?.legs);
  if (!m || !isStr(m.id) || typeof m.name !== "string" || !legs) return null;
  return {
    id: m.id,
    name: m.name,
    legs,
    note: strOrNull(m.note),
    created_at: strOrNull(m.created_at),
    updated_at: strOrNull(m.updated_at),
  };
}

/** `GET /api/strategies`: the readable entries, as listed. */
export function parseSavedList(v: unknown): SavedStrategy[] {
  const list = asObject(v)?.strategies;
  return Array.isArray(list) ? list.map(parseSaved).filter((s): s is SavedStrategy => s !== null) : [];
}
