// The create-alert form, a modal dialog: opened from a tile (its metric, the current value as
// threshold) or from a strike of the chain (call or put, IV or OI change). Each field has its label
// and its error under it (aria-describedby, aria-invalid): the local checks' and the server's 422.
// The form as a whole says what else refused it (the alert limit). Escape or Cancel closes it.
import type { AlertIntents } from "../alerts/controller";
import { DEFAULT_WINDOW_S, prefillThreshold, type AlertDraft, type DraftValues } from "../alerts/draft";
import { OPS, type Metric, type Op, type OptionSide } from "../alerts/model";
import { METRIC_INFO, OP_LABEL, SIDE_LABEL, fmtMetric, formatsOfProduct, thresholdUnit } from "../alerts/text";
import { fmtExpiry, localToday, type Formats } from "../format";
import type { AlertForm } from "../state/alerts";
import type { DashState } from "../state/model";
import { fillSelect, h, setText } from "../ui/dom";
import type { Intents, View } from "./view";

/** The form's controls, by the server's field names where they have one. */
interface Controls {
  form: HTMLFormElement;
  metric: HTMLSelectElement | null;
  side: HTMLSelectElement | null;
  op: HTMLSelectElement;
  threshold: HTMLInputElement;
  unit: HTMLElement;
  window: HTMLInputElement;
  windowField: HTMLElement;
  expiry: HTMLSelectElement | null;
  cooldown: HTMLInputElement;
  note: HTMLInputElement;
  webhook: HTMLInputElement;
  /** Field → [its control, its error]. */
  slots: Map<string, [HTMLElement, HTMLElement]>;
  message: HTMLElement;
  submit: HTMLButtonElement;
  /** The user typed a threshold: a change of side, metric or operator no longer refills it. */
  touched: boolean;
}

const input = (attrs: Record<string, string>) => h("input", { type: "text", autocomplete: "off", ...attrs });

export class AlertFormView implements View {
  readonly el = h("dialog", { class: "alert-dialog", "data-testid": "alert-dialog" });
  private shown: number | null = null;
  private c: Controls | null = null;
  private draft: AlertDraft | null = null;
  private f: Formats | null = null;

  constructor(private readonly intents: Intents) {
    // Escape, or the dialog closed any other way: the form is closed in the state too (not when
    // the state closed it, nor when another form opened since: the event comes a task later).
    this.el.addEventListener("close", () => {
      if (this.shown !== null && !this.el.open) intents.alerts.closeForm();
    });
  }

  update(s: DashState, p: DashState): void {
    const form = s.alerts.form;
    if (form === p.alerts.form) return;
    if (!form) {
      this.shown = null;
      if (this.el.open) this.el.close();
      return;
    }
    if (form.id !== this.shown) this.open(form, s);
    this.refused(form);
  }

  private open(form: AlertForm, s: DashState): void {
    this.shown = null; // closing the previous one is not the user's doing
    if (this.el.open) this.el.close();
    this.draft = form.draft;
    this.f = formatsOfProduct(s.products, form.draft.product);
    const c = build(form, this.f, this.intents.alerts);
    this.c = c;
    const refill = () => this.refill();
    for (const sel of [c.metric, c.side, c.op]) sel?.addEventListener("change", refill);
    c.threshold.addEventListener("input", () => (c.touched = true));
    c.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.intents.alerts.submit(this.values());
    });
    this.el.replaceChildren(c.form);
    this.el.setAttribute("aria-labelledby", `af${form.id}-title`);
    this.shown = form.id;
    this.refill();
    if (typeof this.el.showModal === "function") this.el.showModal();
    c.threshold.focus();
  }

  /** What the fields hold now. */
  private values(): DraftValues {
    const c = this.c!;
    const d = this.draft!.values;
    return {
      metric: (c.metric?.value as Metric | undefined) ?? d.metric,
      op: c.op.value as Op,
      threshold: c.threshold.value,
      expiry: c.expiry ? c.expiry.value || null : d.expiry,
      side: (c.side?.value as OptionSide | undefined) ?? d.side,
      cooldown: c.cooldown.value,
      window: c.window.value,
      note: c.note.value,
      webhook: c.webhook.value,
    };
  }

  /** The unit and the window follow the metric and operator; an untouched threshold their value. */
  private refill(): void {
    const c = this.c!;
    const v = this.values();
    setText(c.unit, thresholdUnit(v.metric, v.op, this.f!));
    c.windowField.hidden = v.op !== "change_pct";
    if (v.op === "change_pct" && !c.window.value) c.window.value = DEFAULT_WINDOW_S;
    if (!c.touched) c.threshold.value = prefillThreshold(this.draft!, v.metric, v.op, v.side);
  }

  /** The refusal of the form (local or the server's) beside the fields; the rest above the buttons. */
  private refused(form: AlertForm): void {
    const c = this.c;
    if (!c) return;
    const elsewhere: string[] = [];
    for (const [name, [control, error]] of c.slots) show(control, error, form.errors[name]);
    for (const [name, why] of Object.entries(form.errors))
      if (why && !c.slots.has(name)) elsewhere.push(`${name}: ${why}`);
    const message = [form.message, ...elsewhere].filter(Boolean).join(" · ");
    setText(c.message, message);
    c.message.hidden = !message;
    c.submit.disabled = form.pending;
    setText(c.submit, form.pending ? "Creating…" : "Create alert");
    const first = [...c.slots.values()].find(([, error]) => !error.hidden);
    if (first && !form.pending) first[0].focus();
  }
}

function show(control: HTMLElement, error: HTMLElement, why: string | undefined): void {
  setText(error, why ?? "");
  error.hidden = !why;
  if (why) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

/** A labelled field whose control is described by its error line. */
function fieldOf(
  c: Pick<Controls, "slots">,
  prefix: string,
  name: string,
  label: string,
  control: HTMLElement,
  after?: HTMLElement,
): HTMLElement {
  const id = `${prefix}${name}`;
  control.id = id;
  const error = h("div", {
    class: "field-error",
    id: `${id}-error`,
    "data-testid": `alert-error-${name}`,
    hidden: true,
  });
  control.setAttribute("aria-describedby", error.id);
  c.slots.set(name, [control, error]);
  const box = after ? h("div", { class: "field-with-unit" }, control, after) : control;
  return h("div", { class: "field" }, h("label", { for: id }, label), box, error);
}

function select(testid: string, options: { value: string; label: string }[], value: string): HTMLSelectElement {
  const el = h("select", { "data-testid": testid });
  fillSelect(el, options, value);
  return el;
}

/** What the form is about: "NIFTY · ATM IV, now 25.31%" or "NIFTY · 26 Nov · strike 24,000". */
function summary(d: AlertDraft, f: Formats): string {
  const today = localToday();
  if (d.origin === "strike") {
    const expiry = d.values.expiry ? ` · ${fmtExpiry(d.values.expiry, today)}` : "";
    return `${d.product}${expiry} · strike ${f.strike(d.strike)}`;
  }
  const m = d.values.metric;
  const now = d.current[m];
  return `${d.product} · ${METRIC_INFO[m].label}${now === undefined ? "" : `, now ${fmtMetric(m, now, f)}`}`;
}

function build(form: AlertForm, f: Formats, intents: AlertIntents): Controls {
  const d = form.draft;
  const v = d.values;
  const prefix = `af${form.id}-`;
  const c: Controls = {
    form: h("form", { class: "alert-form", "data-testid": "alert-form", novalidate: true }),
    metric:
      d.metrics.length > 1
        ? select(
            "alert-metric",
            d.metrics.map((m) => ({ value: m, label: METRIC_INFO[m].label })),
            v.metric,
          )
        : null,
    side:
      d.origin === "strike"
        ? select(
            "alert-side",
            (["CALL", "PUT"] as const).map((x) => ({ value: x, label: SIDE_LABEL[x] })),
            v.side ?? "CALL",
          )
        : null,
    op: select(
      "alert-op",
      OPS.map((op) => ({ value: op, label: OP_LABEL[op] })),
      v.op,
    ),
    threshold: input({ "data-testid": "alert-value", inputmode: "decimal", value: v.threshold }),
    unit: h("span", { class: "unit", "data-testid": "alert-unit" }),
    window: input({ "data-testid": "alert-window", inputmode: "numeric", value: v.window }),
    windowField: h("div"),
    expiry: null,
    cooldown: input({ "data-testid": "alert-cooldown", inputmode: "numeric", value: v.cooldown }),
    note: input({ "data-testid": "alert-note", maxlength: "280", value: v.note }),
    webhook: input({
      type: "url",
      "data-testid": "alert-webhook",
      inputmode: "url",
      placeholder: "https://…",
      value: v.webhook,
    }),
    slots: new Map(),
    message: h("div", { class: "form-error", role: "alert", "data-testid": "alert-form-error", hidden: true }),
    submit: h("button", { type: "submit", class: "primary", "data-testid": "alert-submit" }, "Create alert"),
    touched: false,
  };
  if (d.origin === "tile" && v.metric !== "spot") {
    const today = localToday();
    const options = [
      { value: "", label: "Nearest expiry" },
      ...d.expiries.map((e) => ({ value: e, label: fmtExpiry(e, today) })),
    ];
    c.expiry = select("alert-expiry", options, v.expiry ?? "");
  }
  const cancel = h("button", { type: "button", class: "ghost", "data-testid": "alert-cancel" }, "Cancel");
  cancel.addEventListener("click", () => intents.closeForm());
  c.windowField = fieldOf(c, prefix, "window_s", "Window (seconds)", c.window);
  const parts: (HTMLElement | null)[] = [
    h("h2", { id: `${prefix}title`, class: "dialog-title" }, "New alert"),
    h("p", { class: "dialog-summary", "data-testid": "alert-summary" }, summary(d, f)),
    c.side ? fieldOf(c, prefix, "option_type", "Option", c.side) : null,
    c.metric ? fieldOf(c, prefix, "metric", "Metric", c.metric) : null,
    fieldOf(c, prefix, "op", "Condition", c.op),
    fieldOf(c, prefix, "value", "Threshold", c.threshold, c.unit),
    c.windowField,
    c.expiry ? fieldOf(c, prefix, "expiry", "Expiry", c.expiry) : null,
    fieldOf(c, prefix, "cooldown_s", "Quiet after a trigger (seconds)", c.cooldown),
    fieldOf(c, prefix, "note", "Note (optional)", c.note),
    fieldOf(c, prefix, "webhook_url", "Webhook URL (optional): each trigger POSTed, signed", c.webhook),
    c.message,
    h("div", { class: "dialog-actions" }, cancel, c.submit),
  ];
  c.form.append(...parts.filter((x): x is HTMLElement => x !== null));
  return c;
}
