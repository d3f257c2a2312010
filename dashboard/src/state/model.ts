// The dashboard's state and the actions that change it. Plain data: the reducer (reducer.ts)
// is the only writer, views read it, the controller turns REST answers and socket events into
// actions. Times are epoch milliseconds of the client clock.
import type { FeedStatus, ProductInfo, SurfaceResponse, TermPoint } from "../api";
import type { Bar } from "../bars";
import type { HistoryPoint, OiBaseline } from "../chain";
import type { ViewState } from "../hash";
import type { LiveStatus } from "../live";
import type { EnrichedChain, EnrichedUnderlying } from "../types";
import { emptyAlerts, type AlertAction, type AlertsState } from "./alerts";
import { emptyPaper, type PaperAction, type PaperState } from "./paper";
import { emptyStrategy, type StrategyAction, type StrategyState } from "./strategy";

/** No update for this long greys the data out (ms). */
export const STALE_AFTER_MS = 5_000;
/** A chain this much older than the one shown means the feed restarted (a replay) (ms). */
export const REPLAY_RESET_MS = 60_000;

export interface Session {
  username: string | null;
}

/** What is shown for the selected product and expiry; replaced as a whole on a switch. */
export interface SelectionData {
  /** Bumps on every switch: an answer asked for under an older `gen` is dropped. */
  gen: number;
  chain: EnrichedChain | null;
  /** Why there is no chain yet (the REST read failed), for the table. */
  chainMessage: string | null;
  liveChainSeen: boolean;
  underlying: EnrichedUnderlying | null;
  liveSpotSeen: boolean;
  /** When the last chain or live tick was applied (client clock). */
  lastUpdateAt: number | null;
  /** No update for STALE_AFTER_MS (the client's own judgement; see selectionStaleness). */
  stale: boolean;
  /** The shown chain's own mark: its age (s) when the server said it is older than its product's
   * limit (`data_age_stale`, REST or Socket.IO; NaN: marked without an age); null: not marked. */
  chainMarkedAge: number | null;
  /** The same for the shown underlying tick. */
  spotMarkedAge: number | null;
  /** What the OI-change bars are measured from; `baselinePending` while the route is asked. */
  baseline: OiBaseline | null;
  baselinePending: boolean;
  history: HistoryPoint[];
  /** The series route answered (or failed): the history is drawn at once, not throttled. */
  historyLoaded: boolean;
  historyNote: string | null;
}

/** The candles of the selected product and interval. */
export interface CandleData {
  /** Bumps on a product or interval change, like SelectionData.gen. */
  gen: number;
  /** Closed candles and the forming one from the route; null while asked for. */
  bars: Bar[] | null;
  note: string | null;
}

/** The ATM term structure and the IV surface of the selected product; `gen` bumps on a product
 * switch. */
export interface TermData {
  gen: number;
  /** The expiries' ATM IVs; null while asked for. */
  points: TermPoint[] | null;
  note: string | null;
  /** The surface; null while asked for (or when the read failed: `surfaceNote` says why). */
  surface: SurfaceResponse | null;
  surfaceNote: string | null;
}

/** Each venue's feed health, polled from `GET /api/feeds`. */
export interface FeedsData {
  /** The last answer, by venue; null before the first. */
  list: FeedStatus[] | null;
  /** Why the last poll failed (the last answer stays shown); null once one succeeds. */
  error: string | null;
}

export interface Notice {
  id: number;
  text: string;
}

/** Time travel: the chain as stored at a past instant, shown instead of the live one. */
export interface TravelData {
  /** The instant shown (epoch ms, whole seconds); null: live. */
  at: number | null;
  /** The chain at `at` is being read for the current selection. */
  pending: boolean;
  /** The chain live mode would show now (the newest from REST or the socket), kept up to date
   * while travelling so that "Live" shows it at once; null when live. */
  held: EnrichedChain | null;
}

export const LIVE: TravelData = { at: null, pending: false, held: null };

export interface DashState {
  session: Session | null;
  /** Shown on the login page after the session ended. */
  signedOutReason: string | null;
  products: ProductInfo[];
  /** Product, expiry, candle interval and strike window (mirrored in the URL hash). */
  selection: ViewState;
  /** A product and expiry were switched to since sign-in (the first listing switches even when unchanged). */
  started: boolean;
  connection: { status: LiveStatus; detail: string };
  notice: Notice | null;
  /** The client clock at the last tick (the data-age tile). */
  now: number;
  feeds: FeedsData;
  data: SelectionData;
  /** What instant the chain, tiles and chain charts show (kept across product and expiry switches). */
  travel: TravelData;
  candles: CandleData;
  term: TermData;
  /** The user's alerts, their triggers and toasts, the create form (state/alerts.ts). */
  alerts: AlertsState;
  /** The strategy builder: legs, evaluation, templates, saved strategies (state/strategy.ts). */
  strategy: StrategyState;
  /** Paper trading: the placement, account, positions, orders, trades (state/paper.ts). */
  paper: PaperState;
}

export type Action =
  | { type: "signedIn"; username: string | null; selection: ViewState }
  | { type: "signedOut"; reason: string | null }
  | { type: "productsListed"; products: ProductInfo[]; today: string }
  | { type: "selected"; requested: ViewState; today: string }
  | { type: "connection"; status: LiveStatus; detail: string }
  | { type: "noticeShown"; id: number; text: string }
  | { type: "noticeHidden"; id: number }
  | { type: "tick"; now: number }
  | { type: "feedsLoaded"; feeds: FeedStatus[] }
  | { type: "feedsFailed"; message: string }
  | { type: "chainLoaded"; gen: number; chain: EnrichedChain; now: number }
  | { type: "chainFailed"; gen: number; message: string }
  | { type: "chainLive"; chain: EnrichedChain; now: number }
  | { type: "underlyingLoaded"; gen: number; underlying: EnrichedUnderlying }
  | { type: "underlyingLive"; underlying: EnrichedUnderlying; now: number }
  | { type: "baselineLoaded"; gen: number; baseline: OiBaseline | null; at?: number | null }
  | { type: "historyLoaded"; gen: number; points: HistoryPoint[] }
  | { type: "historyFailed"; gen: number; note: string | null }
  | { type: "candlesLoaded"; gen: number; bars: Bar[] }
  | { type: "candlesFailed"; gen: number; note: string }
  | { type: "travelTo"; at: number; now: number }
  | { type: "travelLive" }
  | { type: "chainAtLoaded"; gen: number; at: number; chain: EnrichedChain }
  | { type: "chainAtFailed"; gen: number; at: number; message: string }
  | { type: "termLoaded"; gen: number; points: TermPoint[] }
  | { type: "termFailed"; gen: number; note: string }
  | { type: "surfaceLoaded"; gen: number; surface: SurfaceResponse }
  | { type: "surfaceFailed"; gen: number; note: string }
  | AlertAction
  | StrategyAction
  | PaperAction;

export function emptyData(gen: number): SelectionData {
  return {
    gen,
    chain: null,
    chainMessage: null,
    liveChainSeen: false,
    underlying: null,
    liveSpotSeen: false,
    lastUpdateAt: null,
    stale: false,
    chainMarkedAge: null,
    spotMarkedAge: null,
    baseline: null,
    baselinePending: true,
    history: [],
    historyLoaded: false,
    historyNote: null,
  };
}

export function emptyCandles(gen: number): CandleData {
  return { gen, bars: null, note: null };
}

export function emptyTerm(gen: number): TermData {
  return { gen, points: null, note: null, surface: null, surfaceNote: null };
}

/** Signed out, nothing loaded, the selection as the URL gives it. */
export function initialState(selection: ViewState): DashState {
  return {
    session: null,
    signedOutReason: null,
    products: [],
    selection,
    started: false,
    connection: { status: "connecting", detail: "" },
    notice: null,
    now: 0,
    feeds: { list: null, error: null },
    data: emptyData(0),
    travel: LIVE,
    candles: emptyCandles(0),
    term: emptyTerm(0),
    alerts: emptyAlerts(0),
    strategy: emptyStrategy(0),
    paper: emptyPaper(0),
  };
}

/** The product and expiry to load and subscribe to, when both are chosen. */
export function selectionKey(s: DashState): { product: string; expiry: string } | null {
  const { product, expiry } = s.selection;
  return product && expiry ? { product, expiry } : null;
}
