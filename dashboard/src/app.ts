// The dashboard after sign-in: its views laid out and subscribed to the store, and the
// controller that feeds the store from REST, Socket.IO, the URL hash and the clock.
import { lazyAlertIntents } from "./alerts/controller";
import { browserNotifier } from "./alerts/notify";
import { AlertsRest } from "./alerts/rest";
import type { Auth } from "./auth";
import { Controller, type LiveConnector, type UrlHash } from "./controller";
import { Live, loadConfig, socketUrl } from "./live";
import { Rest } from "./rest";
import type { Action, DashState } from "./state/model";
import { selectionStaleness, type StaleReason } from "./state/select";
import type { Store } from "./state/store";
import { lazyPaperIntents, saveBlob } from "./paper/controller";
import { PaperRest } from "./paper/rest";
import { lazyStrategyIntents } from "./strategy/controller";
import { StrategyRest } from "./strategy/rest";
import { h } from "./ui/dom";
import { CandlesView } from "./views/candles";
import { ChainPanelView } from "./views/chainPanel";
import { FeedsView } from "./views/feeds";
import { HeaderView, NoticeView } from "./views/header";
import { HistoryView } from "./views/history";
import { OiSmileView } from "./views/oiSmile";
import { TermView } from "./views/term";
import { ReferenceView } from "./views/reference";
import { TilesView } from "./views/tiles";
import { TravelBannerView } from "./views/travel";
import type { Intents, View } from "./views/view";
import { AlertFormView } from "./views/alertForm";
import { AlertsView } from "./views/alerts";
import { ToastsView } from "./views/toasts";
import { PaperToastsView } from "./views/paper";
import { StrategyPageView } from "./views/strategy";

/** The location hash of this page; `listen` follows the user's edits (`replace` fires nothing). */
const browserHash: UrlHash = {
  get: () => location.hash,
  replace: (hash) => history.replaceState(null, "", hash),
  listen: (fn) => {
    window.addEventListener("hashchange", fn);
    return () => window.removeEventListener("hashchange", fn);
  },
};

function socketLive(auth: Auth): LiveConnector {
  return {
    loadConfig,
    start: (config, handlers) => {
      const live = new Live(auth, handlers);
      live.start(socketUrl(config, location));
      return live;
    },
  };
}

/**
 * The data greyed out (class `stale`, `data-stale`, `data-stale-reason`) while the selection is
 * stale for any cause (selectionStaleness: its feed, the data's own age mark, silence), as the
 * header's badge says.
 */
class StaleView implements View {
  private reason: StaleReason | null = null;

  constructor(private readonly el: HTMLElement) {}

  update(s: DashState, p: DashState): void {
    if (s.data === p.data && s.feeds.list === p.feeds.list && s.selection === p.selection) return;
    const reason = selectionStaleness(s)?.reason ?? null;
    if (reason === this.reason) return;
    this.reason = reason;
    this.el.classList.toggle("stale", reason !== null);
    this.el.dataset.stale = String(reason !== null);
    this.el.dataset.staleReason = reason ?? "";
  }
}

/** The page shown (`data-page` on the data: the CSS shows the market's charts or the strategy page). */
class PageView implements View {
  constructor(private readonly el: HTMLElement) {}

  update(s: DashState, p: DashState): void {
    if (s.selection.page !== p.selection.page) this.el.dataset.page = s.selection.page;
  }
}

/** Lay the views out in `host` and redraw them on every change; returns the teardown. */
export function mountDashboard(host: HTMLElement, store: Store<DashState, Action>, intents: Intents): () => void {
  const s = store.state;
  const header = new HeaderView(s, intents);
  const notice = new NoticeView();
  const feeds = new FeedsView();
  const tiles = new TilesView(intents);
  const reference = new ReferenceView();
  const chain = new ChainPanelView(s, intents);
  const oiSmile = new OiSmileView();
  const term = new TermView();
  const candles = new CandlesView(s, intents);
  const history = new HistoryView();
  const alerts = new AlertsView(intents);
  const alertForm = new AlertFormView(intents);
  const toasts = new ToastsView(intents);
  const strategy = new StrategyPageView(s, intents);
  const charts = h(
    "div",
    { class: "charts" },
    oiSmile.oiPanel,
    oiSmile.smilePanel,
    oiSmile.gexPanel,
    term.panel,
    term.surfacePanel,
    candles.panel,
    history.panel,
  );
  const main = h(
    "main",
    { class: "dash live-data", "data-testid": "live-data", "data-stale": "false", "data-page": s.selection.page },
    tiles.el,
    reference.el,
    h("div", { class: "grid" }, chain.el, charts, strategy.el),
    alerts.el,
  );
  const app = h("div", { class: "app", "data-testid": "dashboard" }, header.el, feeds.el, notice.el, main);
  host.replaceChildren(app, toasts.el, alertForm.el);

  const stale = new StaleView(main);
  const travel = new TravelBannerView(main, intents);
  const views: View[] = [header, feeds, notice, tiles, reference, chain, oiSmile, term, candles, history, stale];
  views.push(alerts, alertForm, toasts, new PaperToastsView(toasts.el, intents.paper));
  views.push(travel, strategy, new PageView(main));
  for (const view of views) view.mount?.(); // the charts size themselves to their boxes: after layout
  const unsubscribe = store.subscribe((state, prev) => {
    for (const view of views) view.update(state, prev);
  });
  return () => {
    unsubscribe();
    for (const view of views) view.destroy?.();
  };
}

/** Show the dashboard for the signed-in session and start feeding it; returns its stop. */
export function startDashboard(host: HTMLElement, store: Store<DashState, Action>, auth: Auth): () => void {
  const intents: Intents = {
    select: (patch) => controller.select(patch),
    logout: () => void controller.logout(),
    alerts: lazyAlertIntents(() => controller.alerts),
    travel: (at) => controller.travel(at),
    travelStep: (ms) => controller.travelStep(ms),
    strategy: lazyStrategyIntents(() => controller.strategy),
    paper: lazyPaperIntents(() => controller.paper),
  };
  const unmount = mountDashboard(host, store, intents);
  const controller = new Controller({
    store,
    rest: new Rest(auth),
    auth,
    live: socketLive(auth),
    url: browserHash,
    alerts: new AlertsRest(auth),
    notifier: browserNotifier(),
    strategies: new StrategyRest(auth),
    paper: new PaperRest(auth),
    saveFile: saveBlob,
  });
  void controller.start();
  return () => {
    controller.stop();
    unmount();
  };
}
