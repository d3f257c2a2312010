// Wires the outside world to the store for one signed-in session: the product listing, the feed
// health polled every few seconds, the REST reads of each selection (one AbortController per
// selection, so the reads of a selection left behind are cancelled), the Socket.IO connection, the
// URL hash, the clock and the notices.
import { AlertsController, type AlertsApi } from "./alerts/controller";
import type { Notifier } from "./alerts/notify";
import type { FeedStatus } from "./api";
import { ApiError, describeError } from "./auth";
import { unlistedProducts } from "./feeds";
import { localToday } from "./format";
import { formatHash, parseHash, type ViewState } from "./hash";
import type { LiveConfig, LiveHandlers, Selection } from "./live";
import { loadCandles, loadInstant, loadSelection, loadTerm, type LoadContext, type Reads } from "./loads";
import type { ServerError } from "./messages";
import { selectionKey, type Action, type DashState } from "./state/model";
import type { Store } from "./state/store";
import { PaperController, type PaperApi } from "./paper/controller";
import type { CsvFile } from "./paper/rest";
import { StrategyController, type StrategyApi } from "./strategy/controller";
import { stepInstant } from "./travel";

/** The client clock: epoch ms, and the local date (YYYY-MM-DD) that picks the nearest expiry. */
export interface Clock {
  now(): number;
  today(): string;
}

export const systemClock: Clock = { now: () => Date.now(), today: () => localToday() };

/** The URL hash that mirrors the selection. */
export interface UrlHash {
  get(): string;
  replace(hash: string): void;
  /** Call `fn` when the user edits the hash; returns the function that stops it. */
  listen(fn: () => void): () => void;
}

/** The live connection as the controller drives it (live.ts's Live). */
export interface LiveLink {
  select(next: Selection | null): void;
  stop(): void;
  tokenRefreshed(): void;
}

export interface LiveConnector {
  loadConfig(): Promise<{ config: LiveConfig; warning: string | null }>;
  start(config: LiveConfig, handlers: LiveHandlers): LiveLink;
}

export interface ControllerDeps {
  store: Store<DashState, Action>;
  rest: Reads;
  auth: { logout(): Promise<void>; onRefresh: () => void };
  live: LiveConnector;
  url: UrlHash;
  clock?: Clock;
  /** The alerts routes (alerts/rest.ts). */
  alerts: AlertsApi;
  /** The browser's notifications of alert triggers; none when absent. */
  notifier?: Notifier;
  /** The strategy routes (strategy/rest.ts). */
  strategies: StrategyApi;
  /** The paper-trading routes (paper/rest.ts) and where an exported file goes. */
  paper: PaperApi;
  saveFile?: (file: CsvFile) => void;
}

const TICK_MS = 1_000;
/** How often the feed health is asked for (the feed writes it every 2 s). */
export const FEEDS_POLL_MS = 3_000;
/** How often the term structure is read again (ms): it moves with each expiry's ATM IV. */
export const TERM_POLL_MS = 30_000;
/** The listing is asked again at most this often when a feed streams a product it lacks. */
export const RELIST_MIN_MS = 10_000;

export class Controller {
  private readonly clock: Clock;
  private readonly lifetime = new AbortController();
  private selectionReads = new AbortController();
  private candleReads = new AbortController();
  private termReads = new AbortController();
  /** The reads of the instant shown (time travel), superseded by the next instant or selection. */
  private instantReads = new AbortController();
  private readonly ctx: LoadContext;
  private live: LiveLink | null = null;
  private stopped = false;
  private noticeSeq = 0;
  /** When the listing was last asked for (client clock); a feed's new product asks again. */
  private listedAt = Number.NEGATIVE_INFINITY;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private ticker: ReturnType<typeof setInterval> | null = null;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;
  private termTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly cleanups: (() => void)[] = [];
  /** The user's alerts, their triggers and the create form. */
  readonly alerts: AlertsController;
  /** The strategy builder: evaluations, templates, saved strategies. */
  readonly strategy: StrategyController;
  /** Paper trading: placing the strategy, the account, positions, orders and trades. */
  readonly paper: PaperController;

  constructor(private readonly deps: ControllerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.ctx = { rest: deps.rest, dispatch: (a) => this.dispatch(a), now: () => this.clock.now() };
    const { store, alerts: rest, notifier } = deps;
    this.alerts = new AlertsController({
      store,
      rest,
      notifier,
      now: () => this.clock.now(),
      today: () => this.clock.today(),
    });
    this.strategy = new StrategyController({
      store,
      rest: deps.strategies,
      now: () => this.clock.now(),
      select: (patch) => this.select(patch),
    });
    this.paper = new PaperController({
      store,
      rest: deps.paper,
      now: () => this.clock.now(),
      random: Math.random,
      save: deps.saveFile ?? (() => {}),
    });
  }

  private get state(): DashState {
    return this.deps.store.state;
  }

  async start(): Promise<void> {
    const { store, url, live } = this.deps;
    this.cleanups.push(store.subscribe((s, p) => this.follow(s, p)));
    this.cleanups.push(
      url.listen(() => this.dispatch({ type: "selected", requested: parseHash(url.get()), today: this.clock.today() })),
    );
    this.ticker = setInterval(() => this.dispatch({ type: "tick", now: this.clock.now() }), TICK_MS);
    void this.pollFeeds();
    this.alerts.start();
    this.strategy.start();
    this.paper.start();
    const [{ config, warning }] = await Promise.all([live.loadConfig(), this.loadProducts()]);
    if (this.stopped) return;
    if (warning) this.flash(warning);
    this.live = live.start(config, {
      onChain: (chain) => this.dispatch({ type: "chainLive", chain, now: this.clock.now() }),
      onUnderlying: (underlying) => this.dispatch({ type: "underlyingLive", underlying, now: this.clock.now() }),
      onStatus: (status, detail) => this.dispatch({ type: "connection", status, detail }),
      onServerError: (err) => this.serverError(err),
      onAlert: (trigger) => this.alerts.triggered(trigger),
      onPaperOrder: (order) => this.paper.orderEvent(order),
      onPaperPosition: () => this.paper.positionEvent(),
      onPaperAccount: (account) => this.paper.accountEvent(account),
    });
    this.deps.auth.onRefresh = () => this.live?.tokenRefreshed();
    this.live.select(selectionKey(this.state));
  }

  /** The user changed part of the selection (the rest stays). */
  select(patch: Partial<ViewState>): void {
    this.dispatch({ type: "selected", requested: { ...this.state.selection, ...patch }, today: this.clock.today() });
  }

  /** Show the chain as stored at `at` (epoch ms; not after now), or live again (null). */
  travel(at: number | null): void {
    if (at === null) this.dispatch({ type: "travelLive" });
    else this.dispatch({ type: "travelTo", at, now: this.clock.now() });
  }

  /** Move the instant shown by `ms` (from now when live); reaching now is live again. */
  travelStep(ms: number): void {
    this.travel(stepInstant(this.state.travel.at, ms, this.clock.now()));
  }

  /** Stop everything, revoke the session on the server, then show the login page. */
  async logout(): Promise<void> {
    this.stop();
    await this.deps.auth.logout();
    this.deps.store.dispatch({ type: "signedOut", reason: null });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (this.ticker) clearInterval(this.ticker);
    this.instantReads.abort();
    for (const t of [...this.timers, this.noticeTimer, this.termTimer]) if (t) clearTimeout(t);
    for (const reads of [this.lifetime, this.selectionReads, this.candleReads, this.termReads]) reads.abort();
    this.alerts.stop();
    this.strategy.stop();
    this.paper.stop();
    this.live?.stop();
    this.live = null;
    this.deps.auth.onRefresh = () => {};
  }

  private dispatch(action: Action): void {
    if (!this.stopped) this.deps.store.dispatch(action);
  }

  /** Follow the state: keep the hash, the subscription and the reads in step with the selection. */
  private follow(s: DashState, p: DashState): void {
    if (s.selection !== p.selection) {
      const hash = formatHash(s.selection);
      if (this.deps.url.get() !== hash) this.deps.url.replace(hash);
    }
    const key = selectionKey(s);
    if (s.data.gen !== p.data.gen && key) {
      this.live?.select(key);
      this.selectionReads.abort();
      this.instantReads.abort();
      this.selectionReads = new AbortController();
      loadSelection(this.ctx, key.product, key.expiry, s.data.gen, this.selectionReads.signal, s.travel.at);
    } else if (s.travel.at !== p.travel.at && key) {
      // Another instant, or live again, on the same selection: its chain and OI baseline.
      this.instantReads.abort();
      this.instantReads = new AbortController();
      loadInstant(this.ctx, key.product, key.expiry, s.data.gen, s.travel.at, this.instantReads.signal);
    }
    if (s.candles.gen !== p.candles.gen && s.selection.product) {
      this.candleReads.abort();
      this.candleReads = new AbortController();
      loadCandles(this.ctx, s.selection.product, s.selection.interval, s.candles.gen, this.candleReads.signal);
    }
    if (s.term.gen !== p.term.gen) this.readTerm();
  }

  /** The selected product's term structure, asked again every TERM_POLL_MS while it stays selected. */
  private readTerm(): void {
    const { product } = this.state.selection;
    const gen = this.state.term.gen;
    this.termReads.abort();
    this.termReads = new AbortController();
    if (!product) return;
    loadTerm(this.ctx, product, gen, this.termReads.signal);
    if (this.termTimer) clearTimeout(this.termTimer);
    this.termTimer = setTimeout(() => {
      this.termTimer = null;
      if (!this.stopped && this.state.term.gen === gen) this.readTerm();
    }, TERM_POLL_MS);
  }

  /** The feed health now, then again every FEEDS_POLL_MS; a failure keeps the last answer shown. */
  private async pollFeeds(): Promise<void> {
    try {
      const feeds = await this.deps.rest.feeds(this.lifetime.signal);
      if (this.stopped) return;
      this.dispatch({ type: "feedsLoaded", feeds });
      this.relistFor(feeds);
    } catch (err) {
      if (this.stopped || (err instanceof ApiError && err.status === 401)) return; // 401: back to login
      this.dispatch({ type: "feedsFailed", message: `Feed status: ${describeError(err)}` });
    }
    this.later(() => void this.pollFeeds(), FEEDS_POLL_MS);
  }

  /** A feed streams a product the listing lacks (a venue just started): ask for the listing again. */
  private relistFor(feeds: FeedStatus[]): void {
    if (!this.state.started || this.clock.now() - this.listedAt < RELIST_MIN_MS) return;
    if (unlistedProducts(feeds, this.state.products).length) this.reloadProducts();
  }

  /** The listing; an empty one or a failure is asked again later. */
  private async loadProducts(): Promise<void> {
    let products = this.state.products;
    this.listedAt = this.clock.now();
    try {
      products = await this.deps.rest.products(this.lifetime.signal);
      if (this.stopped) return;
      if (!products.length) {
        this.flash("No products yet: waiting for the market feed.", 10_000);
        this.later(() => this.reloadProducts(), 10_000);
      }
    } catch (err) {
      if (this.stopped || (err instanceof ApiError && err.status === 401)) return; // 401: back to login
      this.flash(`Products: ${describeError(err)}`, 10_000);
      this.later(() => this.reloadProducts(), 5_000);
    }
    this.dispatch({ type: "productsListed", products, today: this.clock.today() });
  }

  private reloadProducts(): void {
    void this.loadProducts().then(() => this.live?.select(selectionKey(this.state)));
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private serverError(err: ServerError): void {
    this.flash(`${err.message}${err.code && err.code !== "error" ? ` (${err.code})` : ""}`, 10_000);
  }

  /** Show `text` for `ms` (a newer notice replaces it). */
  private flash(text: string, ms = 8_000): void {
    const id = ++this.noticeSeq;
    this.dispatch({ type: "noticeShown", id, text });
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => this.dispatch({ type: "noticeHidden", id }), ms);
  }
}
