// The alerts panel: the user's alerts (product, metric, operator, threshold, option, expiry,
// active) each with Pause / Resume and Delete, the recent triggers (newest first, older pages on
// demand), and the offer to notify through the browser. Redrawn from state.alerts.
import type { AlertIntents } from "../alerts/controller";
import type { Alert, Trigger } from "../alerts/model";
import {
  METRIC_INFO,
  OP_LABEL,
  expiryText,
  fmtThreshold,
  fmtWhen,
  formatsOfProduct,
  optionText,
  ruleText,
  triggerText,
} from "../alerts/text";
import type { ProductInfo } from "../api";
import { localToday } from "../format";
import type { DashState } from "../state/model";
import { field, h, setText } from "../ui/dom";
import { panel, setNote, type Intents, type View } from "./view";

/** One alert's entry, kept across redraws (a button keeps its focus). */
class AlertRow {
  readonly el = h("li", { class: "alert-item", "data-testid": "alert-item" });
  private readonly product = field("alert-product");
  private readonly metric = field("alert-metric");
  private readonly option = field("alert-option");
  private readonly op = field("alert-op");
  private readonly threshold = field("alert-threshold");
  private readonly expiry = field("alert-expiry");
  private readonly state = field("alert-state");
  private readonly note = field("alert-note");
  private readonly webhook = field("alert-webhook");
  private readonly secretCode = h("code", { "data-testid": "alert-secret-value" });
  private readonly secret = h(
    "details",
    { class: "alert-secret", "data-testid": "alert-secret" },
    h("summary", {}, "Signing secret"),
    this.secretCode,
  );
  private readonly toggle = h("button", { type: "button", class: "ghost", "data-testid": "alert-toggle" });
  private readonly remove = h(
    "button",
    { type: "button", class: "ghost danger", "data-testid": "alert-delete" },
    "Delete",
  );
  private alert: Alert;

  constructor(alert: Alert, intents: AlertIntents) {
    this.alert = alert;
    this.el.dataset.alertId = alert.id;
    this.toggle.addEventListener("click", () => intents.setActive(this.alert.id, !this.alert.active));
    this.remove.addEventListener("click", () => intents.remove(this.alert.id));
    this.el.append(
      h("div", { class: "alert-rule" }, this.product, this.metric, this.option, this.op, this.threshold),
      h("div", { class: "alert-meta" }, this.state, this.expiry, this.note, this.webhook, this.secret),
      h("div", { class: "alert-actions" }, this.toggle, this.remove),
    );
  }

  draw(alert: Alert, busy: boolean, products: ProductInfo[], today: string): void {
    this.alert = alert;
    const f = formatsOfProduct(products, alert.product);
    setText(this.product, alert.product);
    setText(this.metric, METRIC_INFO[alert.metric].label);
    const option = optionText(alert.strike, alert.option_type, f);
    setText(this.option, option ?? "");
    this.option.hidden = option === null;
    setText(this.op, OP_LABEL[alert.op]);
    setText(this.threshold, fmtThreshold(alert, f));
    setText(this.expiry, expiryText(alert, today));
    this.expiry.hidden = alert.metric === "spot";
    setText(this.state, alert.active ? "Active" : "Paused");
    setText(this.note, alert.note ?? "");
    this.note.hidden = !alert.note;
    setText(this.webhook, alert.webhook_url ? `webhook → ${hostOf(alert.webhook_url)}` : "");
    this.webhook.hidden = !alert.webhook_url;
    setText(this.secretCode, alert.webhook_secret ?? "");
    this.secret.hidden = !alert.webhook_secret;
    this.el.dataset.active = String(alert.active);
    const rule = ruleText(alert, f);
    setText(this.toggle, alert.active ? "Pause" : "Resume");
    this.toggle.setAttribute("aria-label", `${alert.active ? "Pause" : "Resume"} alert: ${rule}`);
    this.remove.setAttribute("aria-label", `Delete alert: ${rule}`);
    this.toggle.disabled = busy;
    this.remove.disabled = busy;
    this.el.setAttribute("aria-busy", String(busy));
  }
}

/** The host a webhook goes to (the URL itself when unreadable). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function triggerItem(t: Trigger, products: ProductInfo[], today: string): HTMLElement {
  const text = triggerText(t, formatsOfProduct(products, t.product), today);
  return h(
    "li",
    { class: "trigger", "data-testid": "alert-trigger", "data-trigger-id": t.trigger_id },
    h("time", { class: "trigger-at", datetime: t.triggered_at }, fmtWhen(t.triggered_at, today)),
    h("span", { class: "trigger-title" }, text.title),
    h(
      "span",
      { class: "trigger-values" },
      h("span", { class: "trigger-value", "data-testid": "trigger-value" }, text.value),
      " vs ",
      h("span", { class: "trigger-threshold" }, text.threshold),
    ),
    t.note ? h("span", { class: "trigger-note" }, t.note) : null,
  );
}

export class AlertsView implements View {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "alert-list", "data-testid": "alert-list", "aria-label": "Your alerts" });
  private readonly empty = h(
    "p",
    { class: "alerts-empty", "data-testid": "alerts-empty", hidden: true },
    "No alerts yet: press a bell on a tile or on a strike of the chain.",
  );
  private readonly message = h("div", {
    class: "alerts-message",
    role: "alert",
    "data-testid": "alerts-message",
    hidden: true,
  });
  private readonly triggers = h("ol", {
    class: "trigger-list",
    "data-testid": "alert-history",
    "aria-label": "Recent triggers",
  });
  private readonly noTriggers = h(
    "p",
    { class: "alerts-empty", "data-testid": "alert-history-empty" },
    "No trigger yet.",
  );
  private readonly more = h(
    "button",
    { type: "button", class: "ghost", "data-testid": "alert-history-more", hidden: true },
    "Older triggers",
  );
  private readonly notify = h(
    "button",
    {
      type: "button",
      class: "ghost",
      "data-testid": "alert-notify",
      hidden: true,
      title: "Show triggers as system notifications while this page is hidden",
    },
    "Browser notifications",
  );
  private readonly note: HTMLElement;
  private readonly rows = new Map<string, AlertRow>();

  constructor(private readonly intents: Intents) {
    this.more.addEventListener("click", () => intents.alerts.moreHistory());
    this.notify.addEventListener("click", () => intents.alerts.enableNotifications());
    const history = h(
      "div",
      { class: "alert-history" },
      h("h3", {}, "Recent triggers"),
      this.triggers,
      this.noTriggers,
      this.more,
    );
    const body = h("div", { class: "alerts-body" }, this.message, this.list, this.empty, history);
    const p = panel("Alerts", "alerts", body, this.notify);
    p.el.classList.add("alerts-panel");
    p.el.dataset.testid = "alerts";
    p.note.classList.replace("chart-note", "alerts-note");
    this.note = p.note;
    this.el = p.el;
  }

  update(s: DashState, p: DashState): void {
    const a = s.alerts;
    const b = p.alerts;
    const relabel = s.products !== p.products;
    if (a.list !== b.list || a.busy !== b.busy || relabel) this.drawList(s);
    if (a.triggers !== b.triggers || relabel) {
      const today = localToday();
      this.triggers.replaceChildren(...a.triggers.map((t) => triggerItem(t, s.products, today)));
      this.noTriggers.hidden = a.triggers.length > 0;
    }
    if (a.historyNext !== b.historyNext || a.historyPending !== b.historyPending) {
      this.more.hidden = a.historyNext === null;
      this.more.disabled = a.historyPending;
    }
    if (a.message !== b.message) {
      setText(this.message, a.message ?? "");
      this.message.hidden = a.message === null;
    }
    if (a.listNote !== b.listNote || a.historyNote !== b.historyNote) {
      setNote(this.note, [a.listNote, a.historyNote].filter(Boolean).join(" · ") || null);
    }
    if (a.notifications !== b.notifications) this.notify.hidden = a.notifications !== "default";
  }

  private drawList(s: DashState): void {
    const { list, busy } = s.alerts;
    const alerts = list ?? [];
    const today = localToday();
    const keep = new Set(alerts.map((x) => x.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.el.remove();
        this.rows.delete(id);
      }
    }
    let prev: Element | null = null;
    for (const alert of alerts) {
      let row = this.rows.get(alert.id);
      if (!row) {
        row = new AlertRow(alert, this.intents.alerts);
        this.rows.set(alert.id, row);
      }
      row.draw(alert, busy.includes(alert.id), s.products, today);
      const want: Element | null = prev ? prev.nextElementSibling : this.list.firstElementChild;
      if (want !== row.el) {
        if (prev) prev.after(row.el);
        else this.list.prepend(row.el);
      }
      prev = row.el;
    }
    this.list.dataset.count = String(alerts.length);
    this.empty.hidden = list === null || alerts.length > 0;
  }
}
