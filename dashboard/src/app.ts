// The dashboard after sign-in: its views laid out and subscribed to the store, and the
// controller that feeds the store from REST, Socket.IO, the URL hash and the clock.
import type { Auth } from "./auth";
import { Controller, type LiveConnector, type UrlHash } from "./controller";
import { Live, loadConfig, socketUrl } from "./live";
import { Rest } from "./rest";
import type { Action, DashState } from "./state/model";
import { selectionStaleness, type StaleReason } from "./state/select";
import type { Store } from "./state/store";
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
import type { Intents, View } from "./views/view";

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

/** Lay the views out in `host` and redraw them on every change; returns the teardown. */
export function mountDashboard(host: HTMLElement, store: Store<DashState, Action>, intents: Intents): () => void {
  const s = store.state;
  const header = new HeaderView(s, intents);
  const notice = new NoticeView();
  const feeds = new FeedsView();
  const tiles = new TilesView();
  const reference = new ReferenceView();
  const chain = new ChainPanelView(s, intents);
  const oiSmile = new OiSmileView();
  const term = new TermView();
  const candles = new CandlesView(s, intents);
  const history = new HistoryView();
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
    { class: "dash live-data", "data-testid": "live-data", "data-stale": "false" },
    tiles.el,
    reference.el,
    h("div", { class: "grid" }, chain.el, charts),
  );
  host.replaceChildren(h("div", { class: "app", "data-testid": "dashboard" }, header.el, feeds.el, notice.el, main));

  const stale = new StaleView(main);
  const views: View[] = [header, feeds, notice, tiles, reference, chain, oiSmile, term, candles, history, stale];
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
  };
  const unmount = mountDashboard(host, store, intents);
  const controller = new Controller({ store, rest: new Rest(auth), auth, live: socketLive(auth), url: browserHash });
  void controller.start();
  return () => {
    controller.stop();
    unmount();
  };
}
