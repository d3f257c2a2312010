// The REST reads of one selection (product and expiry) and of one candle series, turned into
// actions. Nothing is dispatched once the read's signal is aborted: an answer for a selection
// left behind is never applied (the reducer's generation check drops it too).
import type { Interval } from "./api";
import { ApiError, describeError } from "./auth";
import type { Rest } from "./rest";
import type { Action } from "./state/model";
import { fmtUtc } from "./travel";

export type Reads = Pick<
  Rest,
  | "products"
  | "feeds"
  | "chain"
  | "chainAt"
  | "underlying"
  | "oiBaseline"
  | "history"
  | "candles"
  | "termStructure"
  | "surface"
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

/**
 * Chain, underlying, OI baseline and history of `product`/`expiry`, read for selection `gen`; with
 * an instant `at` (time travel) also the chain stored at it, and the baseline an hour before it.
 */
export function loadSelection(
  ctx: LoadContext,
  product: string,
  expiry: string,
  gen: number,
  signal: AbortSignal,
  at: number | null = null,
): void {
  const { rest } = ctx;
  readNewestChain(ctx, product, expiry, gen, signal);
  if (at !== null) readChainAt(ctx, product, expiry, gen, at, signal);
  settle(
    ctx,
    signal,
    rest.underlying(product, signal),
    (underlying) => underlying && { type: "underlyingLoaded", gen, underlying },
    () => null,
  );
  readBaseline(ctx, product, expiry, gen, at, signal);
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

/**
 * The instant shown changed for selection `gen`: the chain stored at `at` and the OI baseline an
 * hour before it, or, back to live (null), the newest chain and the baseline of an hour ago.
 */
export function loadInstant(
  ctx: LoadContext,
  product: string,
  expiry: string,
  gen: number,
  at: number | null,
  signal: AbortSignal,
): void {
  if (at === null) readNewestChain(ctx, product, expiry, gen, signal);
  else readChainAt(ctx, product, expiry, gen, at, signal);
  readBaseline(ctx, product, expiry, gen, at, signal);
}

function readNewestChain(ctx: LoadContext, product: string, expiry: string, gen: number, signal: AbortSignal): void {
  settle(
    ctx,
    signal,
    ctx.rest.chain(product, expiry, signal),
    (chain) => chain && { type: "chainLoaded", gen, chain, now: ctx.now() },
    (err) => ({
      type: "chainFailed",
      gen,
      message: notFound(err)
        ? "No chain stored yet for this expiry; waiting for live data…"
        : `Chain: ${describeError(err)}`,
    }),
  );
}

function readChainAt(
  ctx: LoadContext,
  product: string,
  expiry: string,
  gen: number,
  at: number,
  signal: AbortSignal,
): void {
  settle(
    ctx,
    signal,
    ctx.rest.chainAt(product, expiry, at, signal),
    (chain): Action =>
      chain
        ? { type: "chainAtLoaded", gen, at, chain }
        : { type: "chainAtFailed", gen, at, message: "The stored chain could not be read" },
    (err) => ({
      type: "chainAtFailed",
      gen,
      at,
      message: notFound(err)
        ? `No chain of this expiry stored at or before ${fmtUtc(at)}`
        : `Chain at ${fmtUtc(at)}: ${describeError(err)}`,
    }),
  );
}

/** The OI-change bars' baseline: an hour before `at`, or before now when live (null). */
function readBaseline(
  ctx: LoadContext,
  product: string,
  expiry: string,
  gen: number,
  at: number | null,
  signal: AbortSignal,
): void {
  settle(
    ctx,
    signal,
    ctx.rest.oiBaseline(product, expiry, signal, at),
    (baseline) => ({ type: "baselineLoaded", gen, baseline, at }),
    () => ({ type: "baselineLoaded", gen, baseline: null, at }),
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
