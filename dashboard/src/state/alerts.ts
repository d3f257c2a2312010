// The alerts part of the dashboard state: the user's alerts, their recent triggers, the toasts of
// the triggers that arrived while the page is open, and the create form. Changed only by
// reduceAlerts (called by reducer.ts); answers carry the generation they were asked under and are
// dropped after a sign-out (`gen` bumps), a form's answer after the form was closed (its `id`).
import type { AlertDraft, FieldErrors } from "../alerts/draft";
import { mergeTriggers, type Alert, type Trigger } from "../alerts/model";

/** A toast stays this long unless closed (ms of the client clock). */
export const TOAST_MS = 10_000;
/** Toasts shown at once at most: the oldest goes first. */
export const MAX_TOASTS = 4;
/** Trigger ids remembered as seen (delivery is at least once: a repeat is not shown again). */
export const SEEN_MAX = 2_000;
/** Triggers kept in the list at most (the history's pages and the live ones). */
export const TRIGGERS_MAX = 500;

/** Whether the browser may show notifications (the Notification API's permission). */
export type NotifyPermission = NotificationPermission | "unsupported";

export interface Toast {
  trigger: Trigger;
  /** When it was shown (client clock, ms). */
  shownAt: number;
}

export interface AlertForm {
  /** One per form opened: an answer for a form closed since is dropped. */
  id: number;
  draft: AlertDraft;
  /** Why a field is refused (the server's field names). */
  errors: FieldErrors;
  /** What refused the form as a whole (the alert limit, the network). */
  message: string | null;
  /** Sent, not answered yet. */
  pending: boolean;
}

export interface AlertsState {
  /** Bumps on every sign-in and sign-out. */
  gen: number;
  /** The user's alerts, oldest first; null while asked for. */
  list: Alert[] | null;
  /** Why the list could not be read. */
  listNote: string | null;
  /** Alerts with a change (pause, resume, delete) in flight. */
  busy: string[];
  /** Why the last change failed; null once one succeeds. */
  message: string | null;
  /** Triggers newest first: the history's pages and the live ones. */
  triggers: Trigger[];
  /** The cursor of the next (older) history page; null: none. */
  historyNext: string | null;
  historyPending: boolean;
  historyNote: string | null;
  /** Oldest first. */
  toasts: Toast[];
  /** Ids of the triggers listed or toasted, oldest first (bounded). */
  seen: string[];
  form: AlertForm | null;
  /** The id of the last form opened. */
  formSeq: number;
  notifications: NotifyPermission;
}

export type AlertAction =
  | { type: "alertsLoaded"; gen: number; alerts: Alert[] }
  | { type: "alertsFailed"; gen: number; note: string }
  | { type: "triggersAsked"; gen: number }
  | { type: "triggersLoaded"; gen: number; triggers: Trigger[]; next: string | null }
  | { type: "triggersFailed"; gen: number; note: string }
  | { type: "alertTriggered"; trigger: Trigger; now: number }
  | { type: "toastClosed"; triggerId: string }
  | { type: "alertFormOpened"; draft: AlertDraft }
  | { type: "alertFormClosed" }
  | { type: "alertFormSent"; form: number }
  | { type: "alertFormRefused"; form: number; errors: FieldErrors; message: string | null }
  | { type: "alertCreated"; gen: number; form: number; alert: Alert }
  | { type: "alertChanging"; gen: number; id: string }
  | { type: "alertChanged"; gen: number; alert: Alert }
  | { type: "alertDeleted"; gen: number; id: string }
  | { type: "alertChangeFailed"; gen: number; id: string; message: string }
  | { type: "notificationsAre"; permission: NotifyPermission };

const ALERT_ACTIONS: ReadonlySet<string> = new Set<AlertAction["type"]>([
  "alertsLoaded",
  "alertsFailed",
  "triggersAsked",
  "triggersLoaded",
  "triggersFailed",
  "alertTriggered",
  "toastClosed",
  "alertFormOpened",
  "alertFormClosed",
  "alertFormSent",
  "alertFormRefused",
  "alertCreated",
  "alertChanging",
  "alertChanged",
  "alertDeleted",
  "alertChangeFailed",
  "notificationsAre",
]);

export function isAlertAction(a: { type: string }): a is AlertAction {
  return ALERT_ACTIONS.has(a.type);
}

export function emptyAlerts(gen: number): AlertsState {
  return {
    gen,
    list: null,
    listNote: null,
    busy: [],
    message: null,
    triggers: [],
    historyNext: null,
    historyPending: false,
    historyNote: null,
    toasts: [],
    seen: [],
    form: null,
    formSeq: 0,
    notifications: "unsupported",
  };
}

/** Whether `trigger` would be shown as new: no trigger of its id was listed or toasted. */
export function isNewTrigger(s: AlertsState, trigger: Trigger): boolean {
  return !s.seen.includes(trigger.trigger_id);
}

const remember = (seen: string[], ids: string[]): string[] => {
  const fresh = ids.filter((id) => !seen.includes(id));
  return fresh.length ? [...seen, ...fresh].slice(-SEEN_MAX) : seen;
};

const withoutId = (ids: string[], id: string) => (ids.includes(id) ? ids.filter((x) => x !== id) : ids);

/** `alert` in the list: replacing the one of its id, else added last. */
function upsert(list: Alert[] | null, alert: Alert): Alert[] {
  const all = list ?? [];
  return all.some((a) => a.id === alert.id) ? all.map((a) => (a.id === alert.id ? alert : a)) : [...all, alert];
}

/** A trigger from the socket: listed and toasted, unless its id was seen (a repeated delivery). */
function triggered(s: AlertsState, trigger: Trigger, now: number): AlertsState {
  if (!isNewTrigger(s, trigger)) return s;
  return {
    ...s,
    triggers: mergeTriggers([trigger], s.triggers).slice(0, TRIGGERS_MAX),
    toasts: [...s.toasts, { trigger, shownAt: now }].slice(-MAX_TOASTS),
    seen: remember(s.seen, [trigger.trigger_id]),
  };
}

function triggersLoaded(s: AlertsState, triggers: Trigger[], next: string | null): AlertsState {
  return {
    ...s,
    triggers: mergeTriggers(s.triggers, triggers).slice(0, TRIGGERS_MAX),
    historyNext: next,
    historyPending: false,
    historyNote: null,
    seen: remember(
      s.seen,
      triggers.map((t) => t.trigger_id),
    ),
  };
}

/** The form's own actions; the same state when the form they answer was closed. */
function reduceForm(s: AlertsState, a: AlertAction): AlertsState {
  switch (a.type) {
    case "alertFormOpened": {
      const id = s.formSeq + 1;
      return { ...s, formSeq: id, form: { id, draft: a.draft, errors: {}, message: null, pending: false } };
    }
    case "alertFormClosed":
      return s.form ? { ...s, form: null } : s;
    case "alertFormSent":
      return s.form?.id === a.form ? { ...s, form: { ...s.form, pending: true, errors: {}, message: null } } : s;
    case "alertFormRefused":
      if (s.form?.id !== a.form) return s;
      return { ...s, form: { ...s.form, pending: false, errors: a.errors, message: a.message } };
    default:
      return s;
  }
}

/** The list's actions: each of generation `gen` only. */
function reduceList(s: AlertsState, a: AlertAction): AlertsState {
  if (!("gen" in a) || a.gen !== s.gen) return s;
  switch (a.type) {
    case "alertsLoaded":
      return { ...s, list: a.alerts, listNote: null };
    case "alertsFailed":
      return { ...s, list: s.list ?? [], listNote: a.note };
    case "triggersAsked":
      return { ...s, historyPending: true };
    case "triggersLoaded":
      return triggersLoaded(s, a.triggers, a.next);
    case "triggersFailed":
      return { ...s, historyPending: false, historyNote: a.note };
    case "alertCreated": {
      const form = s.form?.id === a.form ? null : s.form;
      return { ...s, list: upsert(s.list, a.alert), form, message: null };
    }
    case "alertChanging":
      return s.busy.includes(a.id) ? s : { ...s, busy: [...s.busy, a.id] };
    case "alertChanged":
      return { ...s, list: upsert(s.list, a.alert), busy: withoutId(s.busy, a.alert.id), message: null };
    case "alertDeleted":
      return { ...s, list: (s.list ?? []).filter((x) => x.id !== a.id), busy: withoutId(s.busy, a.id), message: null };
    case "alertChangeFailed":
      return { ...s, busy: withoutId(s.busy, a.id), message: a.message };
    default:
      return s;
  }
}

export function reduceAlerts(s: AlertsState, a: AlertAction): AlertsState {
  switch (a.type) {
    case "alertTriggered":
      return triggered(s, a.trigger, a.now);
    case "toastClosed":
      return s.toasts.some((t) => t.trigger.trigger_id === a.triggerId)
        ? { ...s, toasts: s.toasts.filter((t) => t.trigger.trigger_id !== a.triggerId) }
        : s;
    case "notificationsAre":
      return s.notifications === a.permission ? s : { ...s, notifications: a.permission };
    case "alertFormOpened":
    case "alertFormClosed":
    case "alertFormSent":
    case "alertFormRefused":
      return reduceForm(s, a);
    default:
      return reduceList(s, a);
  }
}

/** The clock moved on: toasts shown TOAST_MS ago or more go (the same state when none does). */
export function expireToasts(s: AlertsState, now: number): AlertsState {
  const kept = s.toasts.filter((t) => now - t.shownAt < TOAST_MS);
  return kept.length === s.toasts.length ? s : { ...s, toasts: kept };
}
