// Alert documents and triggers for the unit tests, as alert_service and the workers send them.
import type { Alert, Trigger } from "../alerts/model";

/** `GET /api/alerts` entry: an IV alert on the NIFTY 24,000 call of 2026-11-26. */
export const ALERT_DOC = {
  id: "al_AAAAAAAAAAAAAAAAAAAAA1",
  owner: "u1",
  product: "NIFTY",
  metric: "iv",
  op: "crosses_above",
  value: 0.25,
  expiry: "2026-11-26",
  strike: 24_000.0,
  option_type: "CALL",
  cooldown_s: 300,
  window_s: null,
  active: true,
  webhook_url: null,
  webhook_secret: null,
  note: "watch the wing",
  created_at: "2026-11-21T09:00:00.000Z",
  updated_at: "2026-11-21T09:00:00.000Z",
};

/** The Socket.IO `alert` event of ALERT_DOC. */
export const TRIGGER_DOC = {
  trigger_id: "0f".repeat(16),
  alert_id: "al_AAAAAAAAAAAAAAAAAAAAA1",
  owner: "u1",
  product: "NIFTY",
  expiry: "2026-11-26",
  metric: "iv",
  op: "crosses_above",
  strike: 24_000.0,
  option_type: "CALL",
  value: 0.2531,
  threshold: 0.25,
  timestamp: "2026-11-21T09:41:00.123Z",
  triggered_at: "2026-11-21T09:41:00.140Z",
  note: null,
};

/** An alert of `metric` with `id` (a spot alert by default). */
export function alert(id: string, extra: Partial<Alert> = {}): Alert {
  return {
    id,
    product: "NIFTY",
    metric: "spot",
    op: "crosses_above",
    value: 24_000,
    expiry: null,
    strike: null,
    option_type: null,
    cooldown_s: 300,
    window_s: null,
    active: true,
    note: null,
    webhook_url: null,
    webhook_secret: null,
    created_at: "2026-11-21T09:00:00.000Z",
    ...extra,
  };
}

/** A spot trigger `id` decided at `triggeredAt`. */
export function trigger(id: string, triggeredAt = "2026-11-21T09:41:00.140Z", extra: Partial<Trigger> = {}): Trigger {
  return {
    trigger_id: id,
    alert_id: "al_AAAAAAAAAAAAAAAAAAAAA2",
    product: "NIFTY",
    expiry: null,
    metric: "spot",
    op: "crosses_above",
    strike: null,
    option_type: null,
    value: 24_012.35,
    threshold: 24_000,
    timestamp: "2026-11-21T09:41:00.123Z",
    triggered_at: triggeredAt,
    note: null,
    ...extra,
  };
}
