// The toasts of alert triggers: one per trigger that arrived while the page is open, whatever
// product is shown (metric, product, value against threshold, the data's time), until closed or
// TOAST_MS old (state/alerts.ts takes it away). Read out politely by screen readers.
import { formatsOfProduct, triggerText } from "../alerts/text";
import { localToday } from "../format";
import type { Toast } from "../state/alerts";
import type { DashState } from "../state/model";
import { h } from "../ui/dom";
import type { Intents, View } from "./view";

function toastEl(toast: Toast, s: DashState, onClose: (id: string) => void): HTMLElement {
  const t = toast.trigger;
  const text = triggerText(t, formatsOfProduct(s.products, t.product), localToday());
  const close = h(
    "button",
    { type: "button", class: "toast-close", "data-testid": "toast-close", "aria-label": `Dismiss: ${text.title}` },
    "×",
  );
  close.addEventListener("click", () => onClose(t.trigger_id));
  return h(
    "div",
    { class: "toast", "data-testid": "alert-toast", "data-trigger-id": t.trigger_id, "data-product": t.product },
    h("div", { class: "toast-title", "data-testid": "toast-title" }, text.title),
    h(
      "div",
      { class: "toast-values" },
      h("span", { class: "toast-value", "data-testid": "toast-value" }, text.value),
      h("span", { class: "toast-vs" }, " vs "),
      h("span", { class: "toast-threshold", "data-testid": "toast-threshold" }, text.threshold),
    ),
    h("div", { class: "toast-time", "data-testid": "toast-time" }, `data at ${text.at}`),
    t.note ? h("div", { class: "toast-note" }, t.note) : null,
    close,
  );
}

export class ToastsView implements View {
  readonly el = h("div", {
    class: "toasts",
    "data-testid": "alert-toasts",
    role: "region",
    "aria-label": "Alert notifications",
    "aria-live": "polite",
  });
  private readonly shown = new Map<string, HTMLElement>();

  constructor(private readonly intents: Intents) {}

  update(s: DashState, p: DashState): void {
    if (s.alerts.toasts === p.alerts.toasts) return;
    const ids = new Set(s.alerts.toasts.map((t) => t.trigger.trigger_id));
    for (const [id, el] of this.shown) {
      if (!ids.has(id)) {
        el.remove();
        this.shown.delete(id);
      }
    }
    for (const toast of s.alerts.toasts) {
      const id = toast.trigger.trigger_id;
      if (this.shown.has(id)) continue;
      const el = toastEl(toast, s, (tid) => this.intents.alerts.closeToast(tid));
      this.shown.set(id, el);
      this.el.append(el); // newest last (at the bottom)
    }
  }
}
