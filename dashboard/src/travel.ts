// Time travel: the chain, tiles and chain charts as stored at a past instant. Pure helpers of the
// control and the banner: instants are epoch milliseconds, always shown and entered in UTC (the
// products trade in different zones; UTC is the one the data carries).

/** The step buttons' moves (ms): one and five minutes, back and forward. */
export const TRAVEL_STEPS_MS: readonly number[] = [-300_000, -60_000, 60_000, 300_000];

const pad = (x: number, n = 2) => String(x).padStart(n, "0");

/** Whole seconds: what the control shows and the API is asked for. */
export const floorSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** The instant as the value of a `datetime-local` input read as UTC: "2026-11-21T09:41:05". */
export function utcInputValue(ms: number): string {
  const d = new Date(ms);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${date}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

const INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/** A `datetime-local` value ("2026-11-21T09:41" or with seconds) read as UTC; null if it is not one. */
export function parseUtcInput(value: string): number | null {
  const m = INPUT.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms); // 2026-02-30 rolls over: refused
  const same =
    back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && h < 24 && mi < 60;
  return same && s < 60 ? ms : null;
}

/**
 * The instant after a step of `deltaMs` from `at` (from `now` when live): whole seconds; null (live
 * again) when it reaches `now`.
 */
export function stepInstant(at: number | null, deltaMs: number, now: number): number | null {
  const next = floorSecond((at ?? now) + deltaMs);
  return next >= floorSecond(now) ? null : next;
}

/** The instant to show for a chosen `at`: whole seconds, and never after `now` (the API refuses it). */
export function clampInstant(at: number, now: number): number {
  return floorSecond(Math.min(at, now));
}

/** "2026-11-21 09:41:05 UTC". */
export function fmtUtc(ms: number): string {
  return `${utcInputValue(ms).replace("T", " ")} UTC`;
}

/** "09:41:04.800 UTC" of a wire timestamp; the text itself when it is not one. */
export function fmtUtcTime(timestamp: string): string {
  const ms = Date.parse(timestamp);
  if (!Number.isFinite(ms)) return timestamp;
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} UTC`;
}

/** The banner's headline. */
export const notLiveTitle = (at: number): string => `Not live — as stored at ${fmtUtc(at)}`;

/** How far before `at` a chain of `timestamp` was taken: "0.2 s", "3 min 5 s", "2 h 4 min". */
export function fmtGap(at: number, timestamp: string): string {
  const ms = at - Date.parse(timestamp);
  if (!Number.isFinite(ms)) return "—";
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** What the banner says of the chain shown for instant `at`. */
export function chainNote(at: number, timestamp: string | null, pending: boolean, message: string | null): string {
  if (pending) return "reading the stored chain…";
  if (timestamp !== null) return `chain of ${fmtUtcTime(timestamp)}, ${fmtGap(at, timestamp)} before`;
  return message ?? "no chain shown";
}
