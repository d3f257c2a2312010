// Tolerant decoding of what the socket gateway sends: JSON objects, or the same as a JSON string.
import type { DataAgeMark } from "./api";
import { parseSources } from "./sources";
import type { EnrichedChain, EnrichedUnderlying, OhlcCandle } from "./types";

/** The payload as an object: a JSON string is parsed; anything else that is not an object is null. */
export function asObject(payload: unknown): Record<string, unknown> | null {
  let value = payload;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    try {
      value = JSON.parse(new TextDecoder().decode(value));
    } catch {
      return null;
    }
  }
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * The age (seconds) a chain or tick was marked stale at by the server (`data_age_stale`, see
 * DataAgeMark in api.ts); NaN when marked without an age; null when not marked.
 */
export function markedAge(m: object): number | null {
  const { data_age_stale: stale, data_age_s: age } = m as DataAgeMark;
  if (stale !== true) return null;
  return isNum(age) ? age : NaN;
}
const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** An enriched chain, or null when the message lacks what the dashboard needs to draw it. */
export function parseChain(payload: unknown): EnrichedChain | null {
  const m = asObject(payload);
  if (!m) return null;
  if (!isStr(m.product) || !isStr(m.expiry) || !isStr(m.timestamp) || !isNum(m.spot_price)) return null;
  const { strikes, calls, puts } = m;
  if (!Array.isArray(strikes) || !Array.isArray(calls) || !Array.isArray(puts)) return null;
  if (calls.length !== strikes.length || puts.length !== strikes.length) return null;
  if (!strikes.every(isNum)) return null;
  const okRow = (r: unknown): boolean => r !== null && typeof r === "object";
  if (!calls.every(okRow) || !puts.every(okRow)) return null;
  return m as unknown as EnrichedChain;
}

function isCandle(v: unknown): v is OhlcCandle {
  if (v === null || typeof v !== "object") return false;
  const c = v as Record<string, unknown>;
  return isStr(c.start) && isNum(c.open) && isNum(c.high) && isNum(c.low) && isNum(c.close);
}

/**
 * An enriched underlying tick, or null. Candles that are missing or malformed are dropped; the
 * sources of a reference price keep only the entries that can be shown (parseSources).
 */
export function parseUnderlying(payload: unknown): EnrichedUnderlying | null {
  const m = asObject(payload);
  if (!m) return null;
  if (!isStr(m.product) || !isNum(m.price) || !isStr(m.timestamp)) return null;
  const out = { ...m } as Record<string, unknown>;
  for (const key of ["ohlc_1min", "ohlc_5min", "ohlc_15min"]) {
    if (!isCandle(out[key])) delete out[key];
  }
  const sources = parseSources(out.sources);
  if (sources === null) delete out.sources;
  else out.sources = sources;
  return out as unknown as EnrichedUnderlying;
}

export interface ServerError {
  code: string;
  message: string;
}

/** `{code, message}` from an `error` event, a failed ack or a `connect_error`'s `data`. */
export function parseServerError(payload: unknown): ServerError | null {
  const m = asObject(payload);
  if (!m) return typeof payload === "string" && payload ? { code: "error", message: payload } : null;
  const inner = asObject(m.error) ?? m;
  const code = typeof inner.code === "string" ? inner.code : "error";
  const message = typeof inner.message === "string" ? inner.message : code;
  return { code, message };
}

export interface ModeMessage {
  mode: "normal" | "degraded";
  maxRateHz: number | null;
}

export function parseMode(payload: unknown): ModeMessage | null {
  const m = asObject(payload);
  if (!m || (m.mode !== "normal" && m.mode !== "degraded")) return null;
  return { mode: m.mode, maxRateHz: isNum(m.max_rate_hz) ? m.max_rate_hz : null };
}

export interface Ack {
  ok: boolean;
  rooms: string[];
  error: ServerError | null;
}

/** The ack of `subscribe` / `unsubscribe`: `{ok: true, rooms}` or `{ok: false, error}`. */
export function parseAck(payload: unknown): Ack {
  const m = asObject(payload);
  if (!m) return { ok: false, rooms: [], error: { code: "bad_ack", message: "Unreadable answer from the server" } };
  const rooms = Array.isArray(m.rooms) ? m.rooms.filter((r): r is string => typeof r === "string") : [];
  if (m.ok === true) return { ok: true, rooms, error: null };
  return { ok: false, rooms, error: parseServerError(m.error ?? m) };
}

/** Milliseconds since the epoch of a wire timestamp, or NaN. */
export function parseTime(ts: string | null | undefined): number {
  if (!ts) return NaN;
  return Date.parse(ts);
}
