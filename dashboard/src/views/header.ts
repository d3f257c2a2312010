// The top bar: product and expiry selectors, the connection badge, the user and "Log out".
import { fmtExpiry, localToday } from "../format";
import type { DashState } from "../state/model";
import { fillSelect, h } from "../ui/dom";
import { StatusBadge } from "../ui/status";
import type { Intents, View } from "./view";

export class HeaderView implements View {
  readonly el: HTMLElement;
  private readonly productSel = h("select", { "data-testid": "product-select", "aria-label": "Product" });
  private readonly expirySel = h("select", { "data-testid": "expiry-select", "aria-label": "Expiry" });
  private readonly status = new StatusBadge();

  constructor(state: DashState, intents: Intents) {
    this.productSel.addEventListener("change", () => intents.select({ product: this.productSel.value, expiry: null }));
    this.expirySel.addEventListener("change", () => intents.select({ expiry: this.expirySel.value }));
    const logout = h("button", { type: "button", class: "ghost", "data-testid": "logout-button" }, "Log out");
    logout.addEventListener("click", () => {
      logout.disabled = true;
      intents.logout();
    });
    const user = state.session?.username;
    this.el = h(
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
  }

  update(s: DashState, p: DashState): void {
    if (s.products !== p.products || s.selection !== p.selection) this.fill(s);
    if (s.connection !== p.connection) this.status.set(s.connection.status, s.connection.detail);
  }

  private fill(s: DashState): void {
    const { product, expiry } = s.selection;
    fillSelect(
      this.productSel,
      s.products.map((p) => ({ value: p.product, label: p.product })),
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
