// The one writer of the dashboard state: session, products and selection here, the data of the
// selection in data.ts.
import type { ProductInfo } from "../api";
import { resolveSelection, type ViewState } from "../hash";
import { applyBaseline, applyCandles, applyChain, applyHistory, applyUnderlying, chainFailed, tick } from "./data";
import { emptyCandles, emptyData, emptyTerm, initialState, type Action, type DashState } from "./model";
import { applyChainAt, chainAtFailed, holdChain, keepInstant, travelLive, travelTo } from "./travel";
import { emptyAlerts, expireToasts, isAlertAction, reduceAlerts } from "./alerts";
import { emptyPaper, expireFillToasts, isPaperAction, reducePaper } from "./paper";
import { emptyStrategy, isStrategyAction, reduceStrategy } from "./strategy";

/**
 * Everything cleared; the selection is the URL's. The generations keep counting, so an answer
 * asked for before the reset can never pass for one asked after it.
 */
function reset(s: DashState, selection: ViewState = s.selection): DashState {
  return {
    ...initialState(selection),
    data: emptyData(s.data.gen + 1),
    candles: emptyCandles(s.candles.gen + 1),
    term: emptyTerm(s.term.gen + 1),
    alerts: emptyAlerts(s.alerts.gen + 1),
    strategy: emptyStrategy(s.strategy.gen + 1),
    paper: emptyPaper(s.paper.gen + 1),
  };
}

/**
 * Show `requested`, made valid against the listing. A new product or expiry (or `force`) starts a
 * new SelectionData; a new product, expiry or interval new candles.
 */
function select(s: DashState, requested: ViewState, products: ProductInfo[], today: string, force: boolean): DashState {
  const next = products.length ? resolveSelection(requested, products, today) : requested;
  const prev = s.selection;
  const switched = force || prev.product !== next.product || prev.expiry !== next.expiry;
  let out: DashState = { ...s, products, selection: next };
  if (switched && next.product && next.expiry) out = { ...out, started: true, data: emptyData(s.data.gen + 1) };
  if (prev.product !== next.product || (force && next.product)) out = { ...out, term: emptyTerm(s.term.gen + 1) };
  if ((switched || prev.interval !== next.interval) && next.product) {
    out = { ...out, candles: emptyCandles(s.candles.gen + 1) };
  }
  return out;
}

export function reduce(s: DashState, a: Action): DashState {
  if (isAlertAction(a)) {
    const alerts = reduceAlerts(s.alerts, a);
    return alerts === s.alerts ? s : { ...s, alerts };
  }
  if (isStrategyAction(a)) {
    const strategy = reduceStrategy(s.strategy, a);
    return strategy === s.strategy ? s : { ...s, strategy };
  }
  if (isPaperAction(a)) {
    const paper = reducePaper(s.paper, a);
    return paper === s.paper ? s : { ...s, paper };
  }
  switch (a.type) {
    case "signedIn":
      return { ...reset(s, a.selection), session: { username: a.username } };
    case "signedOut":
      return { ...reset(s), signedOutReason: a.reason };
    case "productsListed":
      // The first listing since sign-in starts the selection, even when it is unchanged.
      return keepInstant(s, select(s, s.selection, a.products, a.today, !s.started));
    case "selected":
      return keepInstant(s, select(s, a.requested, s.products, a.today, false));
    case "connection":
      return { ...s, connection: { status: a.status, detail: a.detail } };
    case "noticeShown":
      return { ...s, notice: { id: a.id, text: a.text } };
    case "noticeHidden":
      return s.notice?.id === a.id ? { ...s, notice: null } : s;
    case "tick": {
      const next = tick(s, a.now);
      const alerts = expireToasts(s.alerts, a.now); // toasts go after TOAST_MS
      const paper = expireFillToasts(s.paper, a.now);
      return alerts === s.alerts && paper === s.paper ? next : { ...next, alerts, paper };
    }
    case "feedsLoaded":
      return { ...s, feeds: { list: a.feeds, error: null } };
    case "feedsFailed":
      return s.feeds.error === a.message ? s : { ...s, feeds: { ...s.feeds, error: a.message } };
    // While travelling the newest chain is held for "Live", not shown (state/travel.ts).
    case "chainLoaded":
      if (s.travel.at !== null) return holdChain(s, a.chain, a.now, false, a.gen);
      return applyChain(s, a.chain, a.now, false, a.gen);
    case "chainLive":
      return s.travel.at !== null ? holdChain(s, a.chain, a.now, true) : applyChain(s, a.chain, a.now, true);
    case "chainFailed":
      return s.travel.at !== null ? s : chainFailed(s, a.gen, a.message);
    case "underlyingLoaded":
      return applyUnderlying(s, a.underlying, 0, false, a.gen);
    case "underlyingLive":
      return applyUnderlying(s, a.underlying, a.now, true);
    case "baselineLoaded": // measured to the instant shown: one read for another is dropped
      return (a.at ?? null) === s.travel.at ? applyBaseline(s, a.gen, a.baseline) : s;
    case "travelTo":
      return travelTo(s, a.at, a.now);
    case "travelLive":
      return travelLive(s);
    case "chainAtLoaded":
      return applyChainAt(s, a.gen, a.at, a.chain);
    case "chainAtFailed":
      return chainAtFailed(s, a.gen, a.at, a.message);
    case "historyLoaded":
      return applyHistory(s, a.gen, a.points, null);
    case "historyFailed":
      return applyHistory(s, a.gen, [], a.note);
    case "candlesLoaded":
      return applyCandles(s, a.gen, a.bars, a.bars.length ? null : "No candles yet: building from live ticks…");
    case "candlesFailed":
      return applyCandles(s, a.gen, [], a.note);
    case "termLoaded":
      if (a.gen !== s.term.gen) return s;
      return { ...s, term: { ...s.term, points: a.points, note: a.points.length ? null : "No live expiry yet" } };
    case "termFailed":
      return a.gen === s.term.gen ? { ...s, term: { ...s.term, points: [], note: a.note } } : s;
    case "surfaceLoaded":
      if (a.gen !== s.term.gen) return s;
      return {
        ...s,
        term: { ...s.term, surface: a.surface, surfaceNote: a.surface.expiries.length ? null : "No live expiry yet" },
      };
    case "surfaceFailed":
      return a.gen === s.term.gen ? { ...s, term: { ...s.term, surfaceNote: a.note } } : s;
  }
}
