// Number formatting. The fmt* functions format for the Indian market (the synthetic products):
// en-IN digit grouping (1,23,45,678), prices to the paisa. `formatsFor(currency)` gives the same
// for any currency: USD and the others grouped by thousands (1,234,567), coin prices to 4
// decimals. IV in percent, and "—" for anything that cannot be shown.

export const DASH = "—";

/** The currency of a product whose listing or chain names none (the synthetic market's). */
export const DEFAULT_CURRENCY = "INR";

const cache = new Map<string, Intl.NumberFormat>();
function nf(min: number, max: number, sign = false, locale = "en-IN"): Intl.NumberFormat {
  const key = `${locale}:${min}:${max}:${sign}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      minimumFractionDigits: min,
      maximumFractionDigits: max,
      signDisplay: sign ? "exceptZero" : "auto",
    });
    cache.set(key, f);
  }
  return f;
}

/** A finite number, else null (null, undefined, NaN, ±Infinity and non-numbers). */
export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Fixed decimals with en-IN grouping: 24512.5 → "24,512.50". */
export function fmtNum(v: unknown, decimals = 2): string {
  const n = num(v);
  return n === null ? DASH : nf(decimals, decimals).format(n);
}

/** A price: two decimals; 0 means "no quote" on the wire, shown as "—". */
export function fmtPrice(v: unknown): string {
  const n = num(v);
  return n === null || n === 0 ? DASH : nf(2, 2).format(n);
}

/** A whole count (OI, volume): 1234567 → "12,34,567". */
export function fmtInt(v: unknown): string {
  const n = num(v);
  return n === null ? DASH : nf(0, 0).format(Math.round(n));
}

/** A signed whole count: +1,250 / -300 / 0. */
export function fmtSignedInt(v: unknown): string {
  const n = num(v);
  return n === null ? DASH : nf(0, 0, true).format(Math.round(n));
}

/** A volatility given as a decimal, in percent with two decimals: 0.14237 → "14.24%". */
export function fmtPct(v: unknown, decimals = 2): string {
  const n = num(v);
  return n === null ? DASH : `${nf(decimals, decimals).format(n * 100)}%`;
}

/** A volatility given as a decimal, in percent without the sign (for an "IV %" column): 0.14237 → "14.24". */
export function fmtIvPct(v: unknown): string {
  const n = num(v);
  return n === null ? DASH : nf(2, 2).format(n * 100);
}

/** A volatility difference (decimal) in vol points, signed: -0.0235 → "-2.35 pts". */
export function fmtVolPts(v: unknown): string {
  const n = num(v);
  return n === null ? DASH : `${nf(2, 2, true).format(n * 100)} pts`;
}

/** A ratio such as PCR: two decimals. */
export function fmtRatio(v: unknown): string {
  return fmtNum(v, 2);
}

/** A strike: no decimals when whole, else up to two. */
export function fmtStrike(v: unknown): string {
  const n = num(v);
  return n === null ? DASH : nf(0, 2).format(n);
}

/** Units of a compact count, largest first. */
type CompactUnits = readonly (readonly [number, string])[];
const INDIAN_UNITS: CompactUnits = [
  [1e7, "Cr"],
  [1e5, "L"],
  [1e3, "K"],
];
const WESTERN_UNITS: CompactUnits = [
  [1e9, "B"],
  [1e6, "M"],
  [1e3, "K"],
];

function compact(v: unknown, units: CompactUnits): string {
  const n = num(v);
  if (n === null) return DASH;
  const a = Math.abs(n);
  const s = n < 0 ? "-" : "";
  const trim = (x: number) => x.toFixed(2).replace(/\.?0+$/, "");
  for (const [size, unit] of units) if (a >= size) return `${s}${trim(a / size)}${unit}`;
  return `${s}${trim(a)}`;
}

/** Compact en-IN count for chart axes: 1,25,000 → "1.25L", 2,50,00,000 → "2.5Cr", 12,500 → "12.5K". */
export function fmtCompact(v: unknown): string {
  return compact(v, INDIAN_UNITS);
}

/** The number formats of one currency: its digit grouping, its price decimals, its compact units
 *  (plain functions: they may be passed around unbound). */
export interface Formats {
  /** The currency code, e.g. "USD". */
  readonly currency: string;
  /** Fixed decimals: `num(95123.456, 2)` → "95,123.46". */
  num: (v: unknown, decimals?: number) => string;
  /** A price (premium, spot) in the currency's decimals; 0 means "no quote" on the wire, shown as "—". */
  price: (v: unknown) => string;
  /** A strike: no decimals when whole, else up to two: 95000 → "95,000". */
  strike: (v: unknown) => string;
  /** A quantity (OI, volume): whole counts without decimals, fractional ones (coins) with them: "1,234.5". */
  qty: (v: unknown) => string;
  /** A signed quantity (OI change): "+1,250", "-0.5", "0". */
  signedQty: (v: unknown) => string;
  /** A compact count for chart axes: "1.25L" in INR, "1.25M" in the others. */
  compact: (v: unknown) => string;
}

/** Decimals of prices in a currency: coins to 4 (Deribit's tick is 0.0001 BTC), money to 2. */
const PRICE_DECIMALS = new Map<string, number>([
  ["BTC", 4],
  ["ETH", 4],
]);

const formatsCache = new Map<string, Formats>();

function makeFormats(currency: string): Formats {
  const indian = currency === "INR";
  const locale = indian ? "en-IN" : "en-US";
  const dp = PRICE_DECIMALS.get(currency) ?? 2; // a Map: a currency named like an Object key is just unknown
  const units = indian ? INDIAN_UNITS : WESTERN_UNITS;
  const show = (v: unknown, f: (n: number) => string) => {
    const n = num(v);
    return n === null ? DASH : f(n);
  };
  return {
    currency,
    num: (v, decimals = 2) => show(v, (n) => nf(decimals, decimals, false, locale).format(n)),
    price: (v) => show(v, (n) => (n === 0 ? DASH : nf(dp, dp, false, locale).format(n))),
    strike: (v) => show(v, (n) => nf(0, 2, false, locale).format(n)),
    qty: (v) => show(v, (n) => nf(0, 2, false, locale).format(n)),
    signedQty: (v) => show(v, (n) => nf(0, 2, true, locale).format(n)),
    compact: (v) => compact(v, units),
  };
}

/** The formats of `currency` (INR when none is named: the synthetic market's). */
export function formatsFor(currency: string | null | undefined): Formats {
  const code = currency || DEFAULT_CURRENCY;
  let f = formatsCache.get(code);
  if (!f) {
    f = makeFormats(code);
    if (formatsCache.size >= 32) formatsCache.clear(); // codes come from the server: bounded
    formatsCache.set(code, f);
  }
  return f;
}

/** How long ago, from milliseconds: "3 s ago", "2 min ago", "1 h ago"; clock skew clamps to 0. */
export function fmtAge(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return DASH;
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

const BUILDUP: Record<string, { short: string; label: string; tone: "up" | "down" }> = {
  long_buildup: { short: "LB", label: "Long buildup (price ↑, OI ↑)", tone: "up" },
  short_buildup: { short: "SB", label: "Short buildup (price ↓, OI ↑)", tone: "down" },
  short_covering: { short: "SC", label: "Short covering (price ↑, OI ↓)", tone: "up" },
  long_unwinding: { short: "LU", label: "Long unwinding (price ↓, OI ↓)", tone: "down" },
};

/** Short label, long label and tone of a buildup; null for none. */
export function buildupInfo(v: unknown): { short: string; label: string; tone: "up" | "down" } | null {
  return typeof v === "string" && v in BUILDUP ? BUILDUP[v] : null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "2026-11-26" → "26 Nov (Thu) · 5d" relative to `today` (YYYY-MM-DD, local calendar); the year when not today's. */
export function fmtExpiry(expiry: string, today: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(expiry);
  if (!m) return expiry;
  const d = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  const t = /^(\d{4})-(\d{2})-(\d{2})$/.exec(today);
  const date = new Date(d);
  const sameYear = t !== null && t[1] === m[1];
  const base = `${+m[3]} ${MONTHS[+m[2] - 1]}${sameYear ? "" : ` ${m[1]}`} (${DAYS[date.getUTCDay()]})`;
  if (!t) return base;
  const days = Math.round((d - Date.UTC(+t[1], +t[2] - 1, +t[3])) / 86_400_000);
  return `${base} · ${days < 0 ? "expired" : days === 0 ? "today" : `${days}d`}`;
}

/** Today's date in the browser's calendar, YYYY-MM-DD. */
export function localToday(now = new Date()): string {
  const p = (x: number) => String(x).padStart(2, "0");
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

/** Local wall-clock time "09:41:05" of epoch milliseconds. */
export function fmtClock(ms: number, seconds = true): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, "0");
  return seconds
    ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
    : `${p(d.getHours())}:${p(d.getMinutes())}`;
}
