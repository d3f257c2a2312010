// The REST reads of one selection (product and expiry) and of one candle series, turned into
// actions. Nothing is dispatched once the read's signal is aborted: an answer for a selection
// left behind is never applied (the reducer's generation check drops it too).
import type { Interval } from "./api";
import { ApiError, describeError } from "./auth";
import type { Rest } from "./rest";
import type { Action } from "./state/model";

export type Reads = Pick<
  Rest,
  "products" | "feeds" | "chain" | "underlying" | "oiBaseline" | "history" | "candles" | "termStructure" | "surface"
>;

export interface LoadContext {
  rest: Reads;
  dispatch(action: Action): void;
  /** The client clock, epoch ms. */
  now(): number;
}

const notFound = (err: unknown) => err instanceof ApiError && err.status === 404;

/** Dispatch the action made of the answer (or of the error), unless `signal` was aborted. */
function settle<T>(
  ctx: LoadContext,
  signal: AbortSignal,
  read: Promise<T>,
  ok: (value: T) => Action | null,
  failed: (err: unknown) => Action | null,
): void {
  const apply = (action: Action | null) => {
    if (action && !signal.aborted) ctx.dispatch(action);
  };
  read.then(
    (value) => apply(ok(value)),
    (err: unknown) => apply(failed(err)),
  );
}

/** Chain, underlying, OI baseline and history of `product`/`expiry`, read for selection `gen`. */
export function loadSelection(
  ctx: LoadContext,
  product: string,
  expiry: string,
  gen: number,
  signal: AbortSignal,
): void {
  const { rest } = ctx;
  settle(
    ctx,
    signal,
    rest.chain(product, expiry, signal),
    (chain) => chain && { type: "chainLoaded", gen, chain, now: ctx.now() },
    (err) => ({
      type: "chainFailed",
      gen,
      message: notFound(err)
        ? "No chain stored yet for this expiry; waiting for live data…"
        : `Chain: ${describeError(err)}`,
    }),
  );
  settle(
    ctx,
    signal,
    rest.underlying(product, signal),
    (underlying) => underlying && { type: "underlyingLoaded", gen, underlying },
    () => null,
  );
  settle(
    ctx,
    signal,
    rest.oiBaseline(product, expiry, signal),
    (baseline) => ({ type: "baselineLoaded", gen, baseline }),
    () => ({ type: "baselineLoaded", gen, baseline: null }),
  );
  settle(
    ctx,
    signal,
    rest.history(product, expiry, signal),
    (points) => ({ type: "historyLoaded", gen, points }),
    (err) => ({
      type: "historyFailed",
      gen,
      note: notFound(err) ? null : `History unavailable: ${describeError(err)}`,
    }),
  );
}

/** Candles of `product` at `interval`, read for candle generation `gen`. */
export function loadCandles(
  ctx: LoadContext,
  product: string,
  interval: Interval,
  gen: number,
  signal: AbortSignal,
): void {
  settle(
    ctx,
    signal,
    ctx.rest.candles(product, interval, signal),
    (bars) => ({ type: "candlesLoaded", gen, bars }),
    (err) => ({
      type: "candlesFailed",
      gen,
      note: notFound(err)
        ? "No candles stored yet: building from live ticks…"
        : `Candles unavailable: ${describeError(err)}`,
    }),
  );
}

/** The ATM term structure and the IV surface of `product`, read for term generation `gen`. */
export function loadTerm(ctx: LoadContext, product: string, gen: number, signal: AbortSignal): void {
  settle(
    ctx,
    signal,
    ctx.rest.surface(product, signal),
    (surface) => ({ type: "surfaceLoaded", gen, surface }),
    (err) => ({
      type: "surfaceFailed",
      gen,
      note: notFound(err) ? "No chain stored yet" : `IV surface unavailable: ${describeError(err)}`,
    }),
  );
  settle(
    ctx,
    signal,
    ctx.rest.termStructure(product, signal),
    (points) => ({ type: "termLoaded", gen, points }),
    (err) => ({
      type: "termFailed",
      gen,
      note: notFound(err) ? "No chain stored yet" : `Term structure unavailable: ${describeError(err)}`,
    }),
  );
}
