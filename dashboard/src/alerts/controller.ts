// The alerts side of a signed-in session: reads the user's alerts and their trigger history, sends
// what the user does (create, pause / resume, delete, older triggers), takes the `alert` events of
// the socket (each trigger once: delivery is at least once), and turns all of it into actions.
// Every read is cancelled when the session's controller stops; nothing lands afterwards.
import { ApiError, describeError } from "../auth";
import type { AlertsState } from "../state/alerts";
import { isNewTrigger } from "../state/alerts";
import type { Action, DashState } from "../state/model";
import type { Store } from "../state/store";
import {
  formRefusal,
  strikeDraft,
  tileDraft,
  validateDraft,
  type AlertDraft,
  type DraftValues,
  type TileMetric,
} from "./draft";
import type { Trigger } from "./model";
import { noNotifier, type Notifier } from "./notify";
import type { AlertsRest } from "./rest";
import { formatsOfProduct, triggerText } from "./text";

export type AlertsApi = Pick<AlertsRest, "list" | "create" | "update" | "remove" | "history">;

/** What the alert views ask for. */
export interface AlertIntents {
  /** Open the form on a tile's metric, its current value as threshold. */
  fromTile(metric: TileMetric): void;
  /** Open the form on a strike of the shown chain. */
  fromStrike(strike: number): void;
  /** Check the form's values and create the alert. */
  submit(values: DraftValues): void;
  closeForm(): void;
  /** Pause (false) or resume (true). */
  setActive(id: string, active: boolean): void;
  remove(id: string): void;
  /** The next (older) page of the trigger history. */
  moreHistory(): void;
  closeToast(triggerId: string): void;
  /** Ask the browser's permission to notify. */
  enableNotifications(): void;
}

export interface AlertsDeps {
  store: Store<DashState, Action>;
  rest: AlertsApi;
  /** The client clock, epoch ms (toasts' age). */
  now(): number;
  /** The local date, YYYY-MM-DD (times of another day show their date). */
  today(): string;
  notifier?: Notifier;
}

/** A failed read of the alerts or of the newest triggers is asked again after this long, doubled
 * on each failure up to RETRY_MAX_MS (ms): a service starting or restarting answers 503. */
export const RETRY_MS = 5_000;
export const RETRY_MAX_MS = 60_000;

const gone = (err: unknown) => err instanceof ApiError && err.status === 404;
/** Worth asking again: the network, a 429, a 5xx (not a refusal such as a 4xx). */
const passing = (err: unknown) => !(err instanceof ApiError) || err.status === 429 || err.status >= 500;

export class AlertsController implements AlertIntents {
  private readonly reads = new AbortController();
  private readonly notifier: Notifier;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stopped = false;

  constructor(private readonly deps: AlertsDeps) {
    this.notifier = deps.notifier ?? noNotifier;
  }

  private get state(): AlertsState {
    return this.deps.store.state.alerts;
  }

  /** Read the alerts and the newest triggers (each again later while it fails in passing). */
  start(): void {
    this.dispatch({ type: "notificationsAre", permission: this.notifier.permission() });
    this.readList(0);
    this.readHistory(null, 0);
  }

  stop(): void {
    this.stopped = true;
    this.reads.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** An `alert` event: listed and toasted (and notified when the page is hidden), unless seen. */
  triggered(trigger: Trigger): void {
    if (this.stopped || !isNewTrigger(this.state, trigger)) return;
    this.dispatch({ type: "alertTriggered", trigger, now: this.deps.now() });
    const t = triggerText(
      trigger,
      formatsOfProduct(this.deps.store.state.products, trigger.product),
      this.deps.today(),
    );
    this.notifier.show(t.title, `${t.value} (threshold ${t.threshold}) · data at ${t.at}`, trigger.trigger_id);
  }

  fromTile(metric: TileMetric): void {
    this.open(tileDraft(this.deps.store.state, metric));
  }

  fromStrike(strike: number): void {
    this.open(strikeDraft(this.deps.store.state, strike));
  }

  submit(values: DraftValues): void {
    const form = this.state.form;
    if (!form || form.pending) return;
    const checked = validateDraft(form.draft, values);
    if ("errors" in checked) {
      this.dispatch({ type: "alertFormRefused", form: form.id, errors: checked.errors, message: null });
      return;
    }
    const { gen } = this.state;
    this.dispatch({ type: "alertFormSent", form: form.id });
    this.ask(
      this.deps.rest.create(checked.body, this.reads.signal),
      (alert) => ({ type: "alertCreated", gen, form: form.id, alert }),
      (err) => ({ type: "alertFormRefused", form: form.id, ...formRefusal(err) }),
    );
  }

  closeForm(): void {
    this.dispatch({ type: "alertFormClosed" });
  }

  setActive(id: string, active: boolean): void {
    this.change(id, active ? "resume" : "pause", (gen) =>
      this.deps.rest.update(id, { active }, this.reads.signal).then((alert) => ({ type: "alertChanged", gen, alert })),
    );
  }

  remove(id: string): void {
    this.change(id, "delete", (gen) =>
      this.deps.rest.remove(id, this.reads.signal).then(() => ({ type: "alertDeleted", gen, id })),
    );
  }

  moreHistory(): void {
    const { historyNext, historyPending } = this.state;
    if (historyNext && !historyPending) this.readHistory(historyNext, null);
  }

  closeToast(triggerId: string): void {
    this.dispatch({ type: "toastClosed", triggerId });
  }

  enableNotifications(): void {
    this.notifier.request().then(
      (permission) => this.dispatch({ type: "notificationsAre", permission }),
      () => this.dispatch({ type: "notificationsAre", permission: this.notifier.permission() }),
    );
  }

  private open(draft: AlertDraft | null): void {
    if (draft) this.dispatch({ type: "alertFormOpened", draft });
  }

  private readList(attempt: number): void {
    const { gen } = this.state;
    this.ask(
      this.deps.rest.list(this.reads.signal),
      (alerts) => ({ type: "alertsLoaded", gen, alerts }),
      (err) => {
        this.retry(err, attempt, () => this.readList(attempt + 1));
        return { type: "alertsFailed", gen, note: `Alerts: ${describeError(err)}` };
      },
    );
  }

  /** A page of the history: the newest (`cursor` null), asked again while it fails in passing
   * (`attempt` counts the failures), or an older one, asked again by the user. */
  private readHistory(cursor: string | null, attempt: number | null): void {
    const { gen } = this.state;
    this.dispatch({ type: "triggersAsked", gen });
    this.ask(
      this.deps.rest.history(cursor, this.reads.signal),
      (page) => ({ type: "triggersLoaded", gen, triggers: page.triggers, next: page.next }),
      (err) => {
        if (attempt !== null) this.retry(err, attempt, () => this.readHistory(null, attempt + 1));
        return { type: "triggersFailed", gen, note: `Triggers: ${describeError(err)}` };
      },
    );
  }

  /** Call `again` after RETRY_MS·2^attempt (at most RETRY_MAX_MS) when `err` may pass. */
  private retry(err: unknown, attempt: number, again: () => void): void {
    if (this.stopped || !passing(err)) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.stopped) again();
      },
      Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** attempt),
    );
    this.timers.add(t);
  }

  /** One change of alert `id`: marked busy until answered; an alert already gone is taken away. */
  private change(id: string, verb: string, send: (gen: number) => Promise<Action>): void {
    if (this.state.busy.includes(id)) return;
    const { gen } = this.state;
    this.dispatch({ type: "alertChanging", gen, id });
    this.ask(
      send(gen),
      (action) => action,
      (err): Action =>
        gone(err)
          ? { type: "alertDeleted", gen, id }
          : { type: "alertChangeFailed", gen, id, message: `Could not ${verb} the alert: ${describeError(err)}` },
    );
  }

  /** Dispatch the action made of the answer or of the error, unless stopped since (after a sign-out
   * the reducer drops it too: its generation is gone). */
  private ask<T>(read: Promise<T>, ok: (value: T) => Action, failed: (err: unknown) => Action): void {
    read.then(
      (value) => this.dispatch(ok(value)),
      (err: unknown) => this.dispatch(failed(err)),
    );
  }

  private dispatch(action: Action): void {
    if (!this.stopped) this.deps.store.dispatch(action);
  }
}

/** AlertIntents that call the controller `get()` returns when asked (built before it). */
export function lazyAlertIntents(get: () => AlertIntents): AlertIntents {
  return {
    fromTile: (metric) => get().fromTile(metric),
    fromStrike: (strike) => get().fromStrike(strike),
    submit: (values) => get().submit(values),
    closeForm: () => get().closeForm(),
    setActive: (id, active) => get().setActive(id, active),
    remove: (id) => get().remove(id),
    moreHistory: () => get().moreHistory(),
    closeToast: (triggerId) => get().closeToast(triggerId),
    enableNotifications: () => get().enableNotifications(),
  };
}
