// The alerts routes of alert_service through the gateway (`/api/alerts`): list, create, change
// (pause / resume or any rule field), delete, and the trigger history. Errors are ApiError (auth.ts):
// a 422 names the field, a 409 is the user's alert limit, a 404 an alert gone.
import type { Auth } from "../auth";
import type { AlertBody } from "./draft";
import { parseAlert, parseAlerts, parseHistory, type Alert, type HistoryPage } from "./model";

/** Triggers asked for per page of the history. */
export const HISTORY_LIMIT = 50;

/** What `PATCH /api/alerts/{id}` takes: any rule field but the product, and `active`. */
export type AlertPatch = Partial<Omit<AlertBody, "product">> & { active?: boolean };

const enc = encodeURIComponent;
const JSON_HEADERS = { "Content-Type": "application/json" };

function unreadable(): Error {
  return new Error("Unreadable answer from the server");
}

export class AlertsRest {
  constructor(private readonly auth: Pick<Auth, "api">) {}

  /** The caller's alerts, oldest first. */
  async list(signal?: AbortSignal): Promise<Alert[]> {
    return parseAlerts(await this.auth.api<unknown>("/api/alerts", { signal }));
  }

  async create(body: AlertBody, signal?: AbortSignal): Promise<Alert> {
    const init = { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body), signal };
    const alert = parseAlert(await this.auth.api<unknown>("/api/alerts", init));
    if (!alert) throw unreadable();
    return alert;
  }

  /** The alert after the change (merged and validated whole by the server). */
  async update(id: string, patch: AlertPatch, signal?: AbortSignal): Promise<Alert> {
    const init = { method: "PATCH", headers: JSON_HEADERS, body: JSON.stringify(patch), signal };
    const alert = parseAlert(await this.auth.api<unknown>(`/api/alerts/${enc(id)}`, init));
    if (!alert) throw unreadable();
    return alert;
  }

  async remove(id: string, signal?: AbortSignal): Promise<void> {
    await this.auth.api<unknown>(`/api/alerts/${enc(id)}`, { method: "DELETE", signal });
  }

  /** One page of the caller's triggers, newest first; `cursor` (a page's `next`) asks for older ones. */
  async history(cursor: string | null = null, signal?: AbortSignal): Promise<HistoryPage> {
    const after = cursor ? `&cursor=${enc(cursor)}` : "";
    return parseHistory(await this.auth.api<unknown>(`/api/alerts/history?limit=${HISTORY_LIMIT}${after}`, { signal }));
  }
}
