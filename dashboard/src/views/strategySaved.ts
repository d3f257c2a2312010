// The user's saved strategies: the save form (a name; "Update" when it is the loaded strategy's, so
// the service replaces it), the list (name, product, legs, first expiry; Load, Delete), the loaded
// one marked. The name's error sits under it; the strategy limit (409) and the rest under the form.
import { localToday } from "../format";
import type { DashState } from "../state/model";
import type { StrategyIntents } from "../strategy/controller";
import type { SavedStrategy } from "../strategy/model";
import { savedSummary } from "../strategy/text";
import { field, h, setText } from "../ui/dom";
import { labelled } from "./strategyForms";
import { panel, setNote, type View } from "./view";

/** One saved strategy's entry, kept across redraws (a button keeps its focus). */
class SavedRow {
  readonly el = h("li", { class: "saved-item", "data-testid": "strategy-saved-item" });
  private readonly name = field("saved-name");
  private readonly summary = field("saved-summary");
  private readonly load = h("button", { type: "button", class: "ghost", "data-testid": "saved-load" }, "Load");
  private readonly remove = h(
    "button",
    { type: "button", class: "ghost danger", "data-testid": "saved-delete" },
    "Delete",
  );

  constructor(id: string, intents: StrategyIntents) {
    this.el.dataset.strategyId = id;
    this.load.addEventListener("click", () => intents.load(id));
    this.remove.addEventListener("click", () => intents.remove(id));
    this.el.append(
      h("div", { class: "saved-text" }, this.name, this.summary),
      h("div", { class: "saved-actions" }, this.load, this.remove),
    );
  }

  draw(saved: SavedStrategy, busy: boolean, loaded: boolean, today: string): void {
    setText(this.name, saved.name);
    setText(this.summary, savedSummary(saved, today));
    this.load.setAttribute("aria-label", `Load strategy ${saved.name}`);
    this.remove.setAttribute("aria-label", `Delete strategy ${saved.name}`);
    this.load.disabled = busy;
    this.remove.disabled = busy;
    this.el.setAttribute("aria-busy", String(busy));
    this.el.classList.toggle("loaded", loaded);
    if (loaded) this.el.setAttribute("aria-current", "true");
    else this.el.removeAttribute("aria-current");
  }
}

export class StrategySavedView implements View {
  readonly el: HTMLElement;
  private readonly name = h("input", {
    type: "text",
    autocomplete: "off",
    maxlength: "80",
    "data-testid": "strategy-name",
  });
  private readonly nameField = labelled("name", "Name", this.name);
  private readonly save = h("button", { type: "submit", class: "primary", "data-testid": "strategy-save" }, "Save");
  private readonly message = h("div", {
    class: "form-error",
    role: "alert",
    "data-testid": "strategy-save-error",
    hidden: true,
  });
  private readonly list = h("ul", {
    class: "saved-list",
    "data-testid": "strategy-saved-list",
    "aria-label": "Saved strategies",
  });
  private readonly empty = h(
    "p",
    { class: "strategy-empty", "data-testid": "strategy-saved-empty", hidden: true },
    "No saved strategies yet.",
  );
  private readonly note: HTMLElement;
  private readonly rows = new Map<string, SavedRow>();
  /** The name of the strategy loaded (or saved last); null for none. */
  private loadedName: string | null = null;

  constructor(private readonly intents: StrategyIntents) {
    const form = h("form", { class: "strategy-save", "data-testid": "strategy-save-form", novalidate: true });
    form.append(this.nameField.el, h("div", { class: "apply" }, this.save), this.message);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      intents.save(this.name.value);
    });
    this.name.addEventListener("input", () => this.label(this.loadedName));
    const p = panel(
      "Saved strategies",
      "strategy-saved",
      h("div", { class: "saved-body" }, form, this.list, this.empty),
    );
    p.el.dataset.testid = "strategy-saved";
    p.note.classList.replace("chart-note", "alerts-note");
    this.note = p.note;
    this.el = p.el;
  }

  update(s: DashState, p: DashState): void {
    const a = s.strategy;
    const b = p.strategy;
    if (a.loaded !== b.loaded) {
      this.loadedName = a.loaded?.name ?? null;
      if (a.loaded) this.name.value = a.loaded.name;
      this.label(this.loadedName);
    }
    if (a.saved !== b.saved || a.busy !== b.busy || a.loaded !== b.loaded) this.drawList(s);
    if (a.save !== b.save) {
      this.save.disabled = a.save.pending;
      this.nameField.error.show(a.save.errors.name);
      const others = Object.entries(a.save.errors)
        .filter(([k, why]) => k !== "name" && why)
        .map(([k, why]) => `${k}: ${why}`);
      const message = [a.save.message, ...others].filter(Boolean).join(" · ");
      setText(this.message, message);
      this.message.hidden = !message;
    }
    if (a.savedNote !== b.savedNote) setNote(this.note, a.savedNote);
  }

  /** "Update" when the name is the loaded strategy's (it is replaced), else "Save" (a new one). */
  private label(loaded: string | null): void {
    const update = loaded !== null && this.name.value.trim() === loaded;
    setText(this.save, update ? "Update" : "Save");
    this.save.title = update ? `Replace the saved strategy ${loaded}` : "Save as a new strategy";
  }

  private drawList(s: DashState): void {
    const { saved, busy, loaded } = s.strategy;
    const all = saved ?? [];
    const today = localToday();
    const keep = new Set(all.map((x) => x.id));
    for (const [id, row] of this.rows) {
      if (keep.has(id)) continue;
      row.el.remove();
      this.rows.delete(id);
    }
    let prev: Element | null = null;
    for (const x of all) {
      let row = this.rows.get(x.id);
      if (!row) {
        row = new SavedRow(x.id, this.intents);
        this.rows.set(x.id, row);
      }
      row.draw(x, busy.includes(x.id), loaded?.id === x.id, today);
      const want: Element | null = prev ? prev.nextElementSibling : this.list.firstElementChild;
      if (want !== row.el) {
        if (prev) prev.after(row.el);
        else this.list.prepend(row.el);
      }
      prev = row.el;
    }
    this.list.dataset.count = String(all.length);
    this.empty.hidden = saved === null || all.length > 0;
  }
}
