// What every view of the dashboard is: DOM built once, then redrawn from the state's changes.
import type { AlertIntents } from "../alerts/controller";
import type { ViewState } from "../hash";
import type { DashState } from "../state/model";
import type { PaperIntents } from "../paper/controller";
import type { StrategyIntents } from "../strategy/controller";
import { h } from "../ui/dom";

/** A view: its elements (named by each view) laid out by app.ts, then redrawn from the state. */
export interface View {
  /** Called once the view is in the document (charts measure their box). */
  mount?(): void;
  /** Redraw what differs between `prev` and `state` (compared by reference). */
  update(state: DashState, prev: DashState): void;
  /** Cancel pending frames and timers. */
  destroy?(): void;
}

/** What the views ask of the controller. */
export interface Intents {
  select(patch: Partial<ViewState>): void;
  /** Show the chain as stored at `at` (epoch ms), or live again (null). */
  travel(at: number | null): void;
  /** Move the instant shown by `ms` (from now when live). */
  travelStep(ms: number): void;
  logout(): void;
  /** Create, pause, resume and delete alerts; their toasts and history (alerts/controller.ts). */
  alerts: AlertIntents;
  /** Build, evaluate, save and load strategies (strategy/controller.ts). */
  strategy: StrategyIntents;
  /** Place the strategy as a paper basket; cancel orders, page and export trades (paper/controller.ts). */
  paper: PaperIntents;
}

/** A titled panel with tools in its head and a note under its body (`{testid}-note`). */
export function panel(
  title: string,
  testid: string,
  body: HTMLElement,
  ...tools: HTMLElement[]
): { el: HTMLElement; note: HTMLElement } {
  const note = h("div", { class: "chart-note", "data-testid": `${testid}-note`, hidden: true });
  const el = h(
    "section",
    { class: "panel", "data-panel": testid },
    h("header", { class: "panel-head" }, h("h2", {}, title), h("div", { class: "tools" }, ...tools)),
    h("div", { class: "panel-body" }, body, note),
  );
  return { el, note };
}

export function setNote(note: HTMLElement, text: string | null): void {
  note.textContent = text ?? "";
  note.hidden = !text;
}

/** A chart's box: `data-rendered` turns "true" once it is drawn with data. */
export const chartBox = (testid: string): HTMLElement =>
  h("div", { class: "chart", "data-testid": testid, "data-rendered": "false" });

/** Runs `fn` at the next animation frame, at most once per frame however often it is asked. */
export class FrameTask {
  private frame = 0;

  constructor(private readonly fn: () => void) {}

  request(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.fn();
    });
  }

  cancel(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}
