// The top bar: the page tabs (the live market, the strategy builder), product and expiry selectors (each product with its venue and currency, and marked
// stale when its feed says so), the selected product's venue, currency and freshness (the "stale"
// badge: selectionStaleness, whatever the cause), the connection badge, the user and "Log out".
import type { ProductInfo } from "../api";
import { PAGES, type Page } from "../hash";
import { productFreshness } from "../feeds";
import { fmtExpiry, localToday } from "../format";
import type { DashState } from "../state/model";
import {
  selectionCurrency,
  selectionFreshness,
  selectionStaleness,
  selectionVenue,
  type Staleness,
} from "../state/select";
import { fillSelect, h, setText } from "../ui/dom";
import { StatusBadge } from "../ui/status";
import { TravelControl } from "./travel";
import type { Intents, View } from "./view";

/** "BTC · deribit · USD", with "(stale)" when its feed says the product is stale. */
export function productLabel(p: ProductInfo, stale: boolean): string {
  const parts = [p.product, p.venue, p.currency].filter((x): x is string => Boolean(x));
  return `${parts.join(" · ")}${stale ? " (stale)" : ""}`;
}

const PAGE_LABEL: Record<Page, string> = { market: "Market", strategy: "Strategy" };

export class HeaderView implements View {
  readonly el: HTMLElement;
  /** One button per page (`page-market`, `page-strategy`), the shown one `aria-current="page"`. */
  private readonly tabs = PAGES.map((page) =>
    h(
      "button",
      { type: "button", class: "page-tab", "data-testid": `page-${page}`, "data-page": page },
      PAGE_LABEL[page],
    ),
  );
  private readonly productSel = h("select", { "data-testid": "product-select", "aria-label": "Product" });
  private readonly expirySel = h("select", { "data-testid": "expiry-select", "aria-label": "Expiry" });
  private readonly status = new StatusBadge();
  private readonly venue = h("span", { class: "badge venue", "data-testid": "product-venue", title: "Venue" });
  private readonly currency = h("span", {
    class: "badge currency",
    "data-testid": "product-currency",
    title: "Currency",
  });
  private readonly stale = h(
    "span",
    {
      class: "badge stale-badge",
      "data-testid": "product-stale",
      title: "Its feed reports no recent data",
      hidden: true,
    },
    "stale",
  );
  private shownStaleness: Staleness | null = null;
  /** The instant shown: live, or a past one in UTC (views/travel.ts). */
  private readonly travel: TravelControl;
  private readonly info = h(
    "div",
    { class: "product-info", "data-testid": "product-info", "data-freshness": "unknown" },
    this.venue,
    this.currency,
    this.stale,
  );

  constructor(state: DashState, intents: Intents) {
    this.travel = new TravelControl(intents);
    this.productSel.addEventListener("change", () => intents.select({ product: this.productSel.value, expiry: null }));
    this.expirySel.addEventListener("change", () => intents.select({ expiry: this.expirySel.value }));
    const logout = h("button", { type: "button", class: "ghost", "data-testid": "logout-button" }, "Log out");
    logout.addEventListener("click", () => {
      logout.disabled = true;
      intents.logout();
    });
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => intents.select({ page: tab.dataset.page as Page }));
    }
    this.showPage(state.selection.page);
    const user = state.session?.username;
    this.el = h(
      "header",
      { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "logo" }, "◆"), " OptionsFlow"),
      h("nav", { class: "page-tabs", "aria-label": "Pages", "data-testid": "page-tabs" }, ...this.tabs),
      h("div", { class: "selectors" }, this.productSel, this.expirySel, this.info),
      this.travel.el,
      this.status.el,
      h(
        "div",
        { class: "account" },
        user ? h("span", { class: "user", "data-testid": "username" }, user) : null,
        logout,
      ),
    );
  }

  update(s: DashState, p: DashState): void {
    const listing = s.products !== p.products || s.selection !== p.selection || s.feeds.list !== p.feeds.list;
    if (listing) this.fill(s);
    if (listing || s.data.chain !== p.data.chain) this.describe(s); // a chain may name its currency
    if (s.data !== p.data || s.feeds.list !== p.feeds.list || listing) this.markStale(selectionStaleness(s));
    if (s.connection !== p.connection) this.status.set(s.connection.status, s.connection.detail);
    this.travel.update(s, p);
    if (s.selection.page !== p.selection.page) this.showPage(s.selection.page);
  }

  private showPage(page: Page): void {
    for (const tab of this.tabs) {
      if (tab.dataset.page === page) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
  }

  /** The selected product's venue, currency and freshness by its feed. */
  private describe(s: DashState): void {
    const venue = selectionVenue(s);
    setText(this.venue, venue ?? "");
    this.venue.hidden = venue === null;
    setText(this.currency, s.selection.product ? selectionCurrency(s) : "");
    this.currency.hidden = !s.selection.product;
    this.info.dataset.freshness = selectionFreshness(s);
  }

  /** The badge: shown with its reason while the selection's data is stale, for any cause. */
  private markStale(staleness: Staleness | null): void {
    const was = this.shownStaleness;
    if (was?.reason === staleness?.reason && was?.text === staleness?.text) return;
    this.shownStaleness = staleness;
    this.stale.hidden = staleness === null;
    this.stale.title = staleness?.text ?? "";
    this.info.dataset.staleReason = staleness?.reason ?? "";
  }

  private fill(s: DashState): void {
    const { product, expiry } = s.selection;
    const stale = (p: ProductInfo) => productFreshness(s.feeds.list, p.product, p.venue ?? null) === "stale";
    fillSelect(
      this.productSel,
      s.products.map((p) => ({ value: p.product, label: productLabel(p, stale(p)) })),
      product,
    );
    const info = s.products.find((p) => p.product === product);
    const today = localToday();
    const expiries = (info?.expiries ?? []).map((e) => ({ value: e, label: fmtExpiry(e, today) }));
    fillSelect(this.expirySel, expiries, expiry);
  }
}

/** The notice under the top bar (a refusal, a missing listing); hidden when there is none. */
export class NoticeView implements View {
  readonly el = h("div", { class: "notice", role: "alert", "data-testid": "notice", hidden: true });

  update(s: DashState, p: DashState): void {
    if (s.notice === p.notice) return;
    if (s.notice) this.el.textContent = s.notice.text;
    this.el.hidden = s.notice === null;
  }
}
