// A tiny element builder: h("div", {class: "x", "data-testid": "y"}, child, "text").
type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** A `<span>` whose class and `data-testid` are both `name` (a chip's parts), hidden when asked. */
export const field = (name: string, hidden = false): HTMLSpanElement =>
  h("span", { class: name, "data-testid": name, hidden });

/** Replace an element's text only when it differs (keeps the DOM quiet). Returns whether it changed. */
export function setText(el: Element, text: string): boolean {
  if (el.textContent === text) return false;
  el.textContent = text;
  return true;
}

export function fillSelect(
  select: HTMLSelectElement,
  options: { value: string; label: string }[],
  value: string | null,
): void {
  const same =
    select.options.length === options.length &&
    options.every((o, i) => select.options[i].value === o.value && select.options[i].text === o.label);
  if (!same) {
    select.replaceChildren(...options.map((o) => h("option", { value: o.value }, o.label)));
  }
  if (value !== null) select.value = value;
}
