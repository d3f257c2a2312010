// Number formatting for traders on the Indian market: en-IN digit grouping (1,23,45,678),
// prices to the paisa, IV in percent, and "—" for anything that cannot be shown.

export const DASH = "—";

const cache = new Map<string, Intl.NumberFormat>();
function nf(min: number, max: number, sign = false): Intl.NumberFormat {
  const key = `${min}:${max}:${sign}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat("en-IN", {
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

/** Compact en-IN count for chart axes: 1,25,000 → "1.25L", 2,50,00,000 → "2.5Cr", 12,500 → "12.5K". */
export function fmtCompact(v: unknown): string {
  const n = num(v);
  if (n === null) return DASH;
  const a = Math.abs(n);
  const s = n < 0 ? "-" : "";
  const trim = (x: number) => x.toFixed(2).replace(/\.?0+$/, "");
  if (a >= 1e7) return `${s}${trim(a / 1e7)}Cr`;
  if (a >= 1e5) return `${s}${trim(a / 1e5)}L`;
  if (a >= 1e3) return `${s}${trim(a / 1e3)}K`;
  return `${s}${trim(a)}`;
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
