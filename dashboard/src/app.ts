// The dashboard after login: selectors, live connection, tiles, chain table and charts.
import { ApiError, type Auth, describeError } from "./auth";
import { atmStrike, baselineFromChain, strikeWindow } from "./chain";
import { CandleChart } from "./charts/candleChart";
import { HistoryChart } from "./charts/historyChart";
import { OiChart } from "./charts/oiChart";
import { SmileChart } from "./charts/smileChart";
import { fmtExpiry, localToday } from "./format";
import { STRIKE_WINDOWS, formatHash, parseHash, resolveSelection, type ViewState } from "./hash";
import { Live, loadConfig, socketUrl } from "./live";
import type { ServerError } from "./messages";
import { Rest } from "./rest";
import { INTERVALS, type Interval, type ProductInfo } from "./api";
import type { EnrichedChain, EnrichedUnderlying } from "./types";
import { ChainTable } from "./ui/chainTable";
import { fillSelect, h } from "./ui/dom";
import { StatusBadge } from "./ui/status";
import { Tiles } from "./ui/tiles";

/** No update for this long greys the data out. */
export const STALE_AFTER_MS = 5_000;
const CHART_MIN_GAP_MS = 500;
const REPLAY_RESET_MS = 60_000;

function panel(
  title: string,
  testid: string,
  body: HTMLElement,
  ...tools: HTMLElement[]
): { el: HTMLElement; note: HTMLElement } {
  const note = h("div", { class: "chart-note", "data-testid": `${testid}-note`, hidden: true });
  const el = h(
    "section",
    { class: "panel", "data-panel": testid },
    h("header", { class: "panel-head" }, h("h2", {}, title), h("div", { class: "tools" }, ...tools)),
    h("div", { class: "panel-body" }, body, note),
  );
  return { el, note };
}

function setNote(note: HTMLElement, text: string | null): void {
  note.textContent = text ?? "";
  note.hidden = !text;
}

export class Dashboard {
  private readonly root: HTMLElement;
  private readonly productSel = h("select", { "data-testid": "product-select", "aria-label": "Product" });
  private readonly expirySel = h("select", { "data-testid": "expiry-select", "aria-label": "Expiry" });
  private readonly strikesSel = h("select", { "data-testid": "strikes-select", "aria-label": "Strikes around ATM" });
  private readonly status = new StatusBadge();
  private readonly notice = h("div", { class: "notice", role: "alert", "data-testid": "notice", hidden: true });
  private readonly tiles = new Tiles();
  private readonly table = new ChainTable();
  private readonly oi: OiChart;
  private readonly smile: SmileChart;
  private readonly candles: CandleChart;
  private readonly history: HistoryChart;
  private readonly notes: Record<"oi" | "smile" | "candles" | "history", HTMLElement>;
  private readonly intervalButtons = new Map<Interval, HTMLButtonElement>();
  private readonly rest: Rest;
  private live: Live | null = null;
  private products: ProductInfo[] = [];
  private view: ViewState = parseHash(location.hash);
  private chain: EnrichedChain | null = null;
  private liveChainSeen = false;
  private liveSpotSeen = false;
  private baselinePending = false;
  private lastUpdateAt: number | null = null;
  private gen = 0; // bumps on product/expiry switch: late answers of the old selection are dropped
  private candleGen = 0;
  private frame = 0;
  private chartTimer: ReturnType<typeof setTimeout> | null = null;
  private chartsAt = 0;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;
  private productsTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly onHash = () => this.applyView(parseHash(location.hash));

  constructor(
    host: HTMLElement,
    private readonly auth: Auth,
  ) {
    this.rest = new Rest(auth);
    const chartDiv = (id: string) => h("div", { class: "chart", "data-testid": id, "data-rendered": "false" });
    const oiEl = chartDiv("chart-oi");
    const smileEl = chartDiv("chart-smile");
    const candleEl = chartDiv("chart-candles");
    const historyEl = chartDiv("chart-history");

    fillSelect(
      this.strikesSel,
      STRIKE_WINDOWS.map((w) => ({
        value: w === null ? "all" : String(w),
        label: w === null ? "All strikes" : `ATM ± ${w}`,
      })),
      this.view.strikes === null ? "all" : String(this.view.strikes),
    );
    this.strikesSel.addEventListener("change", () => {
      const v = this.strikesSel.value;
      this.applyView({ ...this.view, strikes: v === "all" ? null : Number(v) });
    });
    this.productSel.addEventListener("change", () =>
      this.applyView({ ...this.view, product: this.productSel.value, expiry: null }),
    );
    this.expirySel.addEventListener("change", () => this.applyView({ ...this.view, expiry: this.expirySel.value }));

    const intervalBar = h("div", { class: "seg", role: "group", "aria-label": "Candle interval" });
    for (const iv of INTERVALS) {
      const b = h("button", { type: "button", "data-testid": `interval-${iv}`, "aria-pressed": "false" }, iv);
      b.addEventListener("click", () => this.applyView({ ...this.view, interval: iv }));
      this.intervalButtons.set(iv, b);
      intervalBar.append(b);
    }
    const centre = h(
      "button",
      { type: "button", class: "ghost", "data-testid": "centre-atm", title: "Scroll to the ATM strike" },
      "ATM",
    );
    centre.addEventListener("click", () => this.table.scrollToAtm());
    const logout = h("button", { type: "button", class: "ghost", "data-testid": "logout-button" }, "Log out");
    logout.addEventListener("click", () => {
      logout.disabled = true;
      this.destroy();
      void this.auth.logout().then(() => this.auth.onLogout(null));
    });

    const chainPanel = panel("Option chain", "chain", this.table.el, this.strikesSel, centre);
    chainPanel.el.classList.add("chain-panel");
    const legend = h(
      "div",
      { class: "legend" },
      h("span", { class: "key itm-key" }, "ITM"),
      h("span", { class: "key atm-key" }, "ATM"),
      h("span", { class: "bu-up" }, "LB long buildup"),
      h("span", { class: "bu-up" }, "SC short covering"),
      h("span", { class: "bu-down" }, "SB short buildup"),
      h("span", { class: "bu-down" }, "LU long unwinding"),
    );
    chainPanel.el.append(legend);
    const oiCaption = h("span", { class: "caption", "data-testid": "chart-oi-since" });
    const oiPanel = panel("Open interest by strike", "chart-oi", oiEl, oiCaption);
    const smilePanel = panel("IV smile", "chart-smile", smileEl);
    const candlePanel = panel("Underlying", "chart-candles", candleEl, intervalBar);
    const historyPanel = panel("PCR & max pain", "chart-history", historyEl);
    this.notes = { oi: oiPanel.note, smile: smilePanel.note, candles: candlePanel.note, history: historyPanel.note };

    const user = this.auth.username;
    const header = h(
      "header",
      { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "logo" }, "◆"), " OptionsFlow"),
      h("div", { class: "selectors" }, this.productSel, this.expirySel),
      this.status.el,
      h(
        "div",
        { class: "account" },
        user ? h("span", { class: "user", "data-testid": "username" }, user) : null,
        logout,
      ),
    );
    this.root = h(
      "div",
      { class: "app", "data-testid": "dashboard" },
      header,
      this.notice,
      h(
        "main",
        { class: "dash live-data", "data-testid": "live-data", "data-stale": "false" },
        this.tiles.el,
        h(
          "div",
          { class: "grid" },
          chainPanel.el,
          h("div", { class: "charts" }, oiPanel.el, smilePanel.el, candlePanel.el, historyPanel.el),
        ),
      ),
    );
    host.replaceChildren(this.root);
    this.oi = new OiChart(oiEl, oiCaption);
    this.smile = new SmileChart(smileEl);
    this.candles = new CandleChart(candleEl);
    this.history = new HistoryChart(historyEl);
    this.table.width = this.view.strikes;
  }

  async start(): Promise<void> {
    window.addEventListener("hashchange", this.onHash);
    this.ticker = setInterval(() => this.tick(), 1000);
    const [{ config, warning }] = await Promise.all([loadConfig(), this.loadProducts()]);
    if (!this.ticker) return; // destroyed meanwhile
    if (warning) this.flash(warning);
    this.live = new Live(this.auth, {
      onChain: (c) => this.onChain(c, true),
      onUnderlying: (u) => this.onUnderlying(u, true),
      onStatus: (s, d) => this.status.set(s, d),
      onServerError: (e) => this.onServerError(e),
    });
    this.auth.onRefresh = () => this.live?.tokenRefreshed();
    this.live.start(socketUrl(config, location));
    if (this.view.product && this.view.expiry)
      this.live.select({ product: this.view.product, expiry: this.view.expiry });
  }

  destroy(): void {
    window.removeEventListener("hashchange", this.onHash);
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    for (const t of [this.chartTimer, this.noticeTimer, this.productsTimer]) if (t) clearTimeout(t);
    cancelAnimationFrame(this.frame);
    this.live?.stop();
    this.live = null;
    this.auth.onRefresh = () => {};
    this.gen += 1;
  }

  // -- selection -----------------------------------------------------------------------

  private async loadProducts(): Promise<void> {
    try {
      this.products = await this.rest.products();
      if (!this.products.length) {
        this.flash("No products yet: waiting for the market feed.", 10_000);
        this.productsTimer = setTimeout(
          () => void this.loadProducts().then(() => this.live?.select(this.selection())),
          10_000,
        );
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // back to login
      this.flash(`Products: ${describeError(err)}`, 10_000);
      this.productsTimer = setTimeout(
        () => void this.loadProducts().then(() => this.live?.select(this.selection())),
        5_000,
      );
    }
    // The first listing starts the selection; a retry only fills the selectors (and switches
    // if the selection was not valid before).
    this.applyView(this.view, this.gen === 0);
  }

  private selection(): { product: string; expiry: string } | null {
    return this.view.product && this.view.expiry ? { product: this.view.product, expiry: this.view.expiry } : null;
  }

  private applyView(requested: ViewState, force = false): void {
    const next = this.products.length ? resolveSelection(requested, this.products, localToday()) : requested;
    const prev = this.view;
    this.view = next;
    const hash = formatHash(next);
    if (location.hash !== hash) history.replaceState(null, "", hash);

    fillSelect(
      this.productSel,
      this.products.map((p) => ({ value: p.product, label: p.product })),
      next.product,
    );
    const info = this.products.find((p) => p.product === next.product);
    const today = localToday();
    fillSelect(
      this.expirySel,
      (info?.expiries ?? []).map((e) => ({ value: e, label: fmtExpiry(e, today) })),
      next.expiry,
    );
    this.strikesSel.value = next.strikes === null ? "all" : String(next.strikes);
    for (const [iv, b] of this.intervalButtons) b.setAttribute("aria-pressed", String(iv === next.interval));

    const switched = force || prev.product !== next.product || prev.expiry !== next.expiry;
    if (switched && next.product && next.expiry) this.switchTo(next.product, next.expiry);
    if (switched || prev.interval !== next.interval) {
      if (next.product) void this.loadCandles(next.product, next.interval);
    }
    if (prev.strikes !== next.strikes) {
      this.table.width = next.strikes;
      if (this.chain) {
        this.table.render(this.chain);
        this.drawCharts(true);
      }
    }
  }

  private switchTo(product: string, expiry: string): void {
    const gen = ++this.gen;
    this.chain = null;
    this.liveChainSeen = false;
    this.liveSpotSeen = false;
    this.lastUpdateAt = null;
    this.baselinePending = true;
    this.table.clear();
    this.tiles.clear();
    this.oi.clear();
    this.smile.clear();
    this.history.clear();
    this.setStale(false);
    for (const n of [this.notes.oi, this.notes.smile, this.notes.history]) setNote(n, null);
    this.live?.select({ product, expiry });
    const current = () => gen === this.gen;
    const notFound = (err: unknown) => err instanceof ApiError && err.status === 404;

    this.rest.chain(product, expiry).then(
      (c) => {
        if (current() && c && !this.liveChainSeen) this.onChain(c, false);
      },
      (err) => {
        if (current() && !this.liveChainSeen) {
          this.table.clear(
            notFound(err)
              ? "No chain stored yet for this expiry; waiting for live data…"
              : `Chain: ${describeError(err)}`,
          );
        }
      },
    );
    this.rest.underlying(product).then(
      (u) => {
        if (current() && u && !this.liveSpotSeen) this.onUnderlying(u, false);
      },
      () => {},
    );
    this.rest
      .oiBaseline(product, expiry)
      .then((b) => {
        if (current() && b) this.oi.setBaseline(b.baseline, b.since);
      })
      .catch(() => {})
      .finally(() => {
        if (!current()) return;
        this.baselinePending = false;
        // Nothing stored an hour ago: measure the change from the first chain seen here.
        if (this.chain && !this.oi.hasBaseline)
          this.oi.setBaseline(baselineFromChain(this.chain), Date.parse(this.chain.timestamp));
        this.drawCharts(true);
      });
    this.rest.history(product, expiry).then(
      (points) => {
        if (current()) this.history.load(points);
      },
      (err) => {
        if (!current()) return;
        this.history.load([]);
        if (!notFound(err)) setNote(this.notes.history, `History unavailable: ${describeError(err)}`);
      },
    );
  }

  private async loadCandles(product: string, interval: Interval): Promise<void> {
    const gen = ++this.candleGen;
    this.candles.reset(interval);
    setNote(this.notes.candles, null);
    try {
      const bars = await this.rest.candles(product, interval);
      if (gen !== this.candleGen) return;
      this.candles.load(bars);
      if (!bars.length) setNote(this.notes.candles, "No candles yet: building from live ticks…");
    } catch (err) {
      if (gen !== this.candleGen) return;
      this.candles.load([]);
      setNote(
        this.notes.candles,
        err instanceof ApiError && err.status === 404
          ? "No candles stored yet: building from live ticks…"
          : `Candles unavailable: ${describeError(err)}`,
      );
    }
  }

  // -- live data -----------------------------------------------------------------------

  private onChain(chain: EnrichedChain, live: boolean): void {
    if (chain.product !== this.view.product || chain.expiry !== this.view.expiry) return;
    if (live) this.liveChainSeen = true;
    const prev = this.chain;
    // A late message a little older than what is shown is dropped; one much older means the feed
    // restarted (a replayed capture) and is taken as the new truth.
    const back = prev ? Date.parse(prev.timestamp) - Date.parse(chain.timestamp) : 0;
    if (back > 0 && back < REPLAY_RESET_MS) return;
    this.chain = chain;
    this.lastUpdateAt = Date.now();
    this.setStale(false);
    if (!this.baselinePending && !this.oi.hasBaseline)
      this.oi.setBaseline(baselineFromChain(chain), Date.parse(chain.timestamp));
    this.history.append(chain);
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        const c = this.chain;
        if (!c) return;
        this.table.render(c);
        this.tiles.chain(c, this.liveSpotSeen);
        this.drawCharts(false);
      });
    }
  }

  private onUnderlying(u: EnrichedUnderlying, live: boolean): void {
    if (u.product !== this.view.product) return;
    if (live) {
      this.liveSpotSeen = true;
      this.lastUpdateAt = Date.now();
      this.setStale(false);
      this.candles.live(u);
      setNote(this.notes.candles, null);
    }
    this.tiles.underlying(u);
  }

  /** OI and smile charts, at most every CHART_MIN_GAP_MS (now when `force`). */
  private drawCharts(force: boolean): void {
    const wait = CHART_MIN_GAP_MS - (Date.now() - this.chartsAt);
    if (!force && wait > 0) {
      if (!this.chartTimer) {
        this.chartTimer = setTimeout(() => {
          this.chartTimer = null;
          this.drawCharts(true);
        }, wait);
      }
      return;
    }
    const c = this.chain;
    if (!c) return;
    this.chartsAt = Date.now();
    const atm = atmStrike(c);
    const win = strikeWindow(c.strikes, atm, this.view.strikes);
    this.oi.update(c, atm, win);
    this.smile.update(c, win);
    setNote(
      this.notes.smile,
      c.calls.some((r) => r?.iv != null) || c.puts.some((r) => r?.iv != null)
        ? null
        : "No implied volatility in this chain",
    );
  }

  private tick(): void {
    const now = Date.now();
    this.tiles.tick(now);
    if (this.lastUpdateAt !== null) this.setStale(now - this.lastUpdateAt > STALE_AFTER_MS);
  }

  private setStale(stale: boolean): void {
    const main = this.root.querySelector<HTMLElement>(".dash");
    if (!main || main.classList.contains("stale") === stale) return;
    main.classList.toggle("stale", stale);
    main.dataset.stale = String(stale);
  }

  private onServerError(err: ServerError): void {
    this.flash(`${err.message}${err.code && err.code !== "error" ? ` (${err.code})` : ""}`, 10_000);
  }

  private flash(text: string, ms = 8_000): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.notice.hidden = true;
    }, ms);
  }
}
