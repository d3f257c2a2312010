// The connection badge in the header: connecting / live / reconnecting / degraded / offline.
import type { LiveStatus } from "../live";
import { h, setText } from "./dom";

const LABEL: Record<LiveStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  degraded: "Degraded",
  offline: "Offline",
};

export class StatusBadge {
  readonly el: HTMLElement;
  private readonly label: HTMLElement;
  private readonly detail: HTMLElement;

  constructor() {
    this.label = h("span", { class: "status-label", "data-testid": "connection-status-label" }, LABEL.connecting);
    this.detail = h("span", { class: "status-detail", "data-testid": "connection-status-detail" });
    this.el = h(
      "div",
      {
        class: "status",
        "data-testid": "connection-status",
        "data-status": "connecting",
        role: "status",
        "aria-live": "polite",
      },
      h("span", { class: "dot", "aria-hidden": "true" }),
      this.label,
      " ",
      this.detail,
    );
  }

  set(status: LiveStatus, detail: string): void {
    this.el.dataset.status = status;
    setText(this.label, LABEL[status]);
    setText(this.detail, detail);
    this.el.title = detail ? `${LABEL[status]}: ${detail}` : LABEL[status];
  }
}
