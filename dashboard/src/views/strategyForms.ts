// The strategy page's form parts: an error line tied to its control, a labelled field, the template
// form (which template, how wide, the option of a butterfly or calendar, a calendar's far expiry),
// the underlying's buy and sell buttons, and the paper-trade button (disabled until paper trading's
// REST API exists).
import { fmtExpiry, localToday } from "../format";
import type { DashState } from "../state/model";
import type { FormState } from "../state/strategy";
import type { PaperIntents } from "../paper/controller";
import type { StrategyIntents, TemplateChoice } from "../strategy/controller";
import { TEMPLATES, TEMPLATE_LABEL, TYPED_TEMPLATES, type LegSide, type TemplateName } from "../strategy/model";
import { KIND_LABEL, SIDE_LABEL } from "../strategy/text";
import { fillSelect, h, setText } from "../ui/dom";

/** An error line under a control, tied to it; hidden when there is none. */
export class FieldError {
  readonly el: HTMLElement;

  constructor(
    readonly control: HTMLElement,
    id: string,
    testid: string,
  ) {
    this.el = h("div", { class: "field-error", id, "data-testid": testid, hidden: true });
    control.setAttribute("aria-describedby", id);
  }

  show(why: string | undefined | null): void {
    setText(this.el, why ?? "");
    this.el.hidden = !why;
    if (why) this.control.setAttribute("aria-invalid", "true");
    else this.control.removeAttribute("aria-invalid");
  }
}

/** A labelled field: its label, its control, its error line (`strategy-error-{name}`). */
export function labelled(name: string, label: string, control: HTMLElement): { el: HTMLElement; error: FieldError } {
  control.id = `sb-${name}`;
  const error = new FieldError(control, `sb-${name}-error`, `strategy-error-${name}`);
  return { el: h("div", { class: "field" }, h("label", { for: control.id }, label), control, error.el), error };
}

export const input = (attrs: Record<string, string>) => h("input", { type: "text", autocomplete: "off", ...attrs });

/** The template form: which, how wide, the option of a butterfly or calendar, a calendar's far expiry. */
export class TemplateForm {
  readonly el = h("form", { class: "strategy-template", "data-testid": "strategy-template-form", novalidate: true });
  private readonly name = h("select", { "data-testid": "strategy-template" });
  private readonly width = input({ "data-testid": "strategy-width", inputmode: "numeric", value: "1" });
  private readonly kind = h("select", { "data-testid": "strategy-template-type" });
  private readonly far = h("select", { "data-testid": "strategy-far-expiry" });
  private readonly apply = h("button", { type: "submit", class: "primary", "data-testid": "strategy-template-apply" });
  private readonly message = h("div", { class: "form-error", role: "alert", "data-testid": "strategy-template-error" });
  private readonly fields: Record<
    "name" | "width" | "option_type" | "far_expiry",
    { el: HTMLElement; error: FieldError }
  >;

  constructor(intents: StrategyIntents) {
    fillSelect(
      this.name,
      TEMPLATES.map((t) => ({ value: t, label: TEMPLATE_LABEL[t] })),
      "iron_condor",
    );
    fillSelect(
      this.kind,
      (["CALL", "PUT"] as const).map((x) => ({ value: x, label: KIND_LABEL[x] })),
      "CALL",
    );
    this.fields = {
      name: labelled("template", "Template", this.name),
      width: labelled("width", "Width (strikes)", this.width),
      option_type: labelled("option_type", "Option", this.kind),
      far_expiry: labelled("far_expiry", "Far expiry", this.far),
    };
    this.name.addEventListener("change", () => this.reshape());
    this.el.addEventListener("submit", (ev) => {
      ev.preventDefault();
      intents.applyTemplate(this.choice());
    });
    const { name, width, option_type, far_expiry } = this.fields;
    this.el.append(name.el, width.el, option_type.el, far_expiry.el, h("div", { class: "apply" }, this.apply));
    this.el.append(this.message);
    this.reshape();
  }

  private choice(): TemplateChoice {
    return {
      name: this.name.value as TemplateName,
      width: this.width.value,
      option_type: this.kind.value === "PUT" ? "PUT" : "CALL",
      far_expiry: this.far.value,
    };
  }

  private reshape(): void {
    const name = this.name.value as TemplateName;
    this.fields.option_type.el.hidden = !TYPED_TEMPLATES.includes(name);
    this.fields.far_expiry.el.hidden = name !== "calendar";
  }

  /** The later expiries of the product shown, for a calendar's far leg (the next one first). */
  expiries(s: DashState): void {
    const { product, expiry } = s.selection;
    const listed = s.products.find((p) => p.product === product)?.expiries ?? [];
    const today = localToday();
    const later = listed.filter((e) => expiry !== null && e > expiry);
    fillSelect(
      this.far,
      later.map((e) => ({ value: e, label: fmtExpiry(e, today) })),
      later.includes(this.far.value) ? this.far.value : (later[0] ?? null),
    );
  }

  draw(t: FormState): void {
    this.apply.disabled = t.pending;
    setText(this.apply, t.pending ? "Building…" : "Build");
    // The service names the template `template` or `name`, a calendar's far expiry `far` or `far_expiry`.
    const errors = { ...t.errors };
    errors.name ??= errors.template;
    errors.far_expiry ??= errors.far;
    for (const [name, field] of Object.entries(this.fields)) field.error.show(errors[name]);
    const named = new Set([...Object.keys(this.fields), "quantity", "template", "far"]);
    const others = Object.entries(t.errors)
      .filter(([field, why]) => why && !named.has(field))
      .map(([field, why]) => `${field}: ${why}`);
    const message = [t.message, ...others].filter(Boolean).join(" · ");
    setText(this.message, message);
    this.message.hidden = !message;
  }
}

/** Buy and sell the underlying as a leg. */
export function underlyingButtons(intents: StrategyIntents): HTMLElement {
  const button = (side: LegSide) => {
    const testid = `strategy-underlying-${side.toLowerCase()}`;
    const b = h("button", { type: "button", class: "ghost", "data-testid": testid }, SIDE_LABEL[side]);
    b.setAttribute("aria-label", `${SIDE_LABEL[side]} the underlying (a strategy leg)`);
    b.addEventListener("click", () => intents.addLeg(null, null, side));
    return b;
  };
  const label = h("span", { class: "label" }, "Underlying");
  return h("div", { class: "field underlying" }, label, button("BUY"), button("SELL"));
}

/** Placing the strategy as one paper basket (paper/controller.ts). */
export function paperButton(intents: PaperIntents): HTMLButtonElement {
  const title = "Place every leg as one paper basket at the live quotes (all legs or none)";
  const attrs = { type: "button", class: "primary", "data-testid": "strategy-paper", title };
  const b = h("button", attrs, "Place as paper trade");
  b.addEventListener("click", () => intents.place());
  return b;
}
