// Time travel in the state: while an instant is chosen, `data.chain` is the chain as stored at it
// (what the table, tiles and chain charts draw) and the chain live mode would show is kept aside in
// `travel.held`, updated by every live or REST chain, so that "Live" shows it at once. Each function
// returns the state unchanged (the same object) when the action does not apply: an answer for
// another instant or an older selection.
import { markedAge } from "../messages";
import { fmtUtc, clampInstant } from "../travel";
import type { EnrichedChain } from "../types";
import { applyChain } from "./data";
import { LIVE, type DashState, type SelectionData } from "./model";
import type { Staleness } from "./select";

const reading = (at: number) => `Reading the chain as stored at ${fmtUtc(at)}…`;

/** The chain shown goes: the one at the new instant is read (and the OI baseline an hour before it). */
function awaitChain(d: SelectionData, at: number): SelectionData {
  return { ...d, chain: null, chainMarkedAge: null, chainMessage: reading(at), baseline: null, baselinePending: true };
}

/** Show the chain stored at `at` (clamped to whole seconds, not after `now`). */
export function travelTo(s: DashState, at: number, now: number): DashState {
  const instant = clampInstant(at, now);
  if (instant === s.travel.at) return s;
  const held = s.travel.at === null ? s.data.chain : s.travel.held;
  return { ...s, data: awaitChain(s.data, instant), travel: { at: instant, pending: true, held } };
}

/** Back to live: the newest chain known at once (the REST read and the live baseline follow). */
export function travelLive(s: DashState): DashState {
  if (s.travel.at === null) return s;
  const held = s.travel.held;
  const data: SelectionData = {
    ...s.data,
    chain: held,
    chainMarkedAge: held ? markedAge(held) : null,
    chainMessage: held ? null : "Waiting for the newest chain…",
    baseline: null,
    baselinePending: true,
  };
  return { ...s, data, travel: LIVE };
}

/**
 * After a switch of product or expiry (a new `data.gen`) the instant stays: the new selection's
 * chain at it is read; nothing is held for it yet.
 */
export function keepInstant(prev: DashState, next: DashState): DashState {
  const at = next.travel.at;
  if (at === null || next.data.gen === prev.data.gen) return next;
  return { ...next, data: awaitChain(next.data, at), travel: { at, pending: true, held: null } };
}

/**
 * A live (`live`) or REST (selection `gen`) chain while travelling: applied to the held chain by
 * the live rules (order, replays, a REST read after a live one), the one shown left alone. The
 * history of the PCR / max-pain chart and the freshness still follow it.
 */
export function holdChain(s: DashState, chain: EnrichedChain, now: number, live: boolean, gen?: number): DashState {
  const shadow: DashState = { ...s, data: { ...s.data, chain: s.travel.held } };
  const next = applyChain(shadow, chain, now, live, gen);
  if (next === shadow) return s;
  const { liveChainSeen, lastUpdateAt, stale, history } = next.data;
  return {
    ...s,
    data: { ...s.data, liveChainSeen, lastUpdateAt, stale, history },
    travel: { ...s.travel, held: next.data.chain },
  };
}

/** The chain stored at `at`, read for selection `gen`. */
export function applyChainAt(s: DashState, gen: number, at: number, chain: EnrichedChain): DashState {
  const { product, expiry } = s.selection;
  if (gen !== s.data.gen || at !== s.travel.at || chain.product !== product || chain.expiry !== expiry) return s;
  const data = { ...s.data, chain, chainMessage: null, chainMarkedAge: markedAge(chain) };
  return { ...s, data, travel: { ...s.travel, pending: false } };
}

/** No chain at `at` (none stored by then, or the read failed): `message` says which. */
export function chainAtFailed(s: DashState, gen: number, at: number, message: string): DashState {
  if (gen !== s.data.gen || at !== s.travel.at) return s;
  return {
    ...s,
    data: { ...s.data, chain: null, chainMarkedAge: null, chainMessage: message },
    travel: { ...s.travel, pending: false },
  };
}

/**
 * Whether the chain shown for the instant was already older than its product's limit then (the
 * server measures its age at the instant); the live causes (feed, reference, silence) do not
 * apply to a stored chain. Null when it was fresh.
 */
export function travelStaleness(s: DashState): Staleness | null {
  const age = s.data.chainMarkedAge;
  if (age === null) return null;
  const old = Number.isFinite(age) ? `${age.toFixed(1)} s old` : "old";
  return { reason: "age", text: `At that instant the stored chain was ${old}, past its product's limit` };
}
