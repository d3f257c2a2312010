// The strategy side of a signed-in session: turns the builder's edits into actions, evaluates the
// legs on each change (debounced; a newer request cancels the one in flight, and the reducer drops
// any answer but the newest for the legs as they are), again every REFRESH_MS while the strategy
// page shows them (the live mids move), asks for templates, and reads, saves, loads and deletes the
// user's saved strategies. Every request is cancelled when the session's controller stops.
import { RETRY_MAX_MS, RETRY_MS } from "../alerts/controller";
import { parseNumber } from "../alerts/draft";
import { ApiError, describeError } from "../auth";
import type { ViewState } from "../hash";
import type { Action, DashState } from "../state/model";
import type { StrategyState } from "../state/strategy";
import type { Store } from "../state/store";
import { utcInputValue } from "../travel";
import { evaluateBody, refusal, type FieldErrors, type LegDraft } from "./legs";
import { MAX_DATES, TYPED_TEMPLATES, type LegSide, type OptionKind, type TemplateName } from "./model";
import type { StrategyRest, TemplateQuery } from "./rest";

export type StrategyApi = Pick<StrategyRest, "evaluate" | "template" | "list" | "create" | "replace" | "remove">;

/** The template form's values, as typed. */
export interface TemplateChoice {
  name: TemplateName;
  width: string;
  option_type: OptionKind;
  /** A calendar's later expiry; "" for none. */
  far_expiry: string;
}

/** What the strategy views ask for. */
export interface StrategyIntents {
  /** Add a leg of the selected product: an option of the shown expiry, or (`kind` null) the underlying. */
  addLeg(strike: number | null, kind: OptionKind | null, side: LegSide): void;
  changeLeg(key: number, patch: Partial<Pick<LegDraft, "side" | "quantity" | "price">>): void;
  removeLeg(key: number): void;
  clear(): void;
  setQuantity(text: string): void;
  /** A curve halfway to the first expiry; then its moment as typed, or none. */
  addDate(): void;
  setDate(index: number, value: string): void;
  removeDate(index: number): void;
  applyTemplate(choice: TemplateChoice): void;
  /** Save the legs under `name`: replaces the strategy loaded when the name is its own. */
  save(name: string): void;
  load(id: string): void;
  remove(id: string): void;
}

export interface StrategyDeps {
  store: Store<DashState, Action>;
  rest: StrategyApi;
  /** The client clock, epoch ms. */
  now(): number;
  /** Show another product and expiry (a saved strategy's). */
  select(patch: Partial<ViewState>): void;
}

/** Quiet time after an edit before the legs are evaluated (ms). */
export const DEBOUNCE_MS = 300;
/** The legs shown are evaluated again this often (ms): their live mids and the smiles move. */
export const REFRESH_MS = 15_000;
/** A saved strategy's name: 1 to this many characters. */
export const MAX_NAME = 80;

/** Worth asking again: the network, a 429, a 5xx (not a refusal such as a 4xx). */
const passing = (err: unknown) => !(err instanceof ApiError) || err.status === 429 || err.status >= 500;

export class StrategyController implements StrategyIntents {
  private readonly lifetime = new AbortController();
  private evalReads = new AbortController();
  private templateReads = new AbortController();
  /** The newest evaluation asked for. */
  private seq = 0;
  private evalTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private listing = false;
  private stopped = false;
  private unsubscribe: () => void = () => {};

  constructor(private readonly deps: StrategyDeps) {}

  private get state(): StrategyState {
    return this.deps.store.state.strategy;
  }

  start(): void {
    this.unsubscribe = this.deps.store.subscribe((s, p) => this.follow(s, p));
    this.follow(this.deps.store.state, null);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const reads of [this.lifetime, this.evalReads, this.templateReads]) reads.abort();
    for (const t of [...this.timers, this.evalTimer]) if (t) clearTimeout(t);
    this.timers.clear();
  }

  /** Evaluate after each change (and on showing the page again); read the saved list when the
   * page is first shown. */
  private follow(s: DashState, p: DashState | null): void {
    const shown = s.selection.page === "strategy";
    const opened = shown && p?.selection.page !== "strategy";
    if (shown && s.strategy.saved === null && !this.listing) this.readList(0);
    if (s.strategy.version !== p?.strategy.version || (opened && s.strategy.legs.length)) this.schedule(DEBOUNCE_MS);
  }

  /** (Re)start the wait before the next evaluation. */
  private schedule(ms: number): void {
    if (this.evalTimer) clearTimeout(this.evalTimer);
    this.evalTimer = setTimeout(() => {
      this.evalTimer = null;
      if (!this.stopped) this.evaluate();
    }, ms);
  }

  private evaluate(): void {
    const { legs, dates, gen, version } = this.state;
    if (!legs.length) return;
    const checked = evaluateBody(legs, dates);
    if ("errors" in checked) {
      this.dispatch({ type: "strategyEvalRefused", gen, seq: null, version, errors: checked.errors, message: null });
      return;
    }
    const seq = ++this.seq;
    this.evalReads.abort(); // its answer would be dropped: the request need not finish
    this.evalReads = new AbortController();
    const { signal } = this.evalReads;
    this.dispatch({ type: "strategyEvalAsked", seq, version });
    this.deps.rest.evaluate(checked.body, signal).then(
      (result) => this.dispatch({ type: "strategyEvaluated", gen, seq, version, result }),
      (err: unknown) => {
        if (!signal.aborted) this.dispatch({ type: "strategyEvalRefused", gen, seq, version, ...refusal(err) });
      },
    );
    this.later(() => this.refresh(seq, version), REFRESH_MS);
  }

  /** Evaluate the same legs again if nothing was asked since, the page shows them and the service
   * refused none of their fields (a failure in passing is asked again). */
  private refresh(seq: number, version: number): void {
    const s = this.deps.store.state;
    const refused = Object.keys(s.strategy.errors).length > 0;
    if (seq === this.seq && s.strategy.version === version && s.selection.page === "strategy" && !refused) {
      this.evaluate();
    }
  }

  addLeg(strike: number | null, kind: OptionKind | null, side: LegSide): void {
    const { product, expiry } = this.deps.store.state.selection;
    if (!product) return;
    if (kind === null) {
      this.dispatch({
        type: "strategyLegAdded",
        leg: { product, expiry: null, strike: null, option_type: null, side },
      });
    } else if (expiry && strike !== null) {
      this.dispatch({ type: "strategyLegAdded", leg: { product, expiry, strike, option_type: kind, side } });
    }
  }

  changeLeg(key: number, patch: Partial<Pick<LegDraft, "side" | "quantity" | "price">>): void {
    this.dispatch({ type: "strategyLegChanged", key, patch });
  }

  removeLeg(key: number): void {
    this.dispatch({ type: "strategyLegRemoved", key });
  }

  clear(): void {
    this.dispatch({ type: "strategyCleared" });
  }

  setQuantity(text: string): void {
    this.dispatch({ type: "strategyQuantitySet", quantity: text });
  }

  addDate(): void {
    const { dates, result } = this.state;
    const end = Date.parse(result?.expires_at ?? "");
    const now = this.deps.now();
    if (dates.length >= MAX_DATES || !(end > now)) return;
    const half = Math.floor((now + (end - now) / 2) / 60_000) * 60_000; // whole minutes
    this.dispatch({ type: "strategyDatesSet", dates: [...dates, utcInputValue(half).slice(0, 16)] });
  }

  setDate(index: number, value: string): void {
    const dates = this.state.dates.map((d, j) => (j === index ? value : d));
    this.dispatch({ type: "strategyDatesSet", dates });
  }

  removeDate(index: number): void {
    this.dispatch({ type: "strategyDatesSet", dates: this.state.dates.filter((_, j) => j !== index) });
  }

  applyTemplate(choice: TemplateChoice): void {
    const { product, expiry } = this.deps.store.state.selection;
    const { gen, quantity } = this.state;
    const seq = this.state.templateSeq + 1;
    const checked = templateQuery(choice, expiry, quantity);
    this.dispatch({ type: "strategyTemplateAsked", gen, seq });
    if (!product || "errors" in checked) {
      const errors = "errors" in checked ? checked.errors : {};
      this.dispatch({ type: "strategyTemplateFailed", gen, seq, errors, message: product ? null : "Pick a product" });
      return;
    }
    this.templateReads.abort();
    this.templateReads = new AbortController();
    this.ask(
      this.deps.rest.template(product, checked.query, this.templateReads.signal),
      (legs) => ({ type: "strategyTemplateLoaded", gen, seq, legs }),
      (err) => ({ type: "strategyTemplateFailed", gen, seq, ...refusal(err) }),
    );
  }

  save(name: string): void {
    const { gen, legs, dates, loaded, save } = this.state;
    if (save.pending) return;
    const trimmed = name.trim();
    const errors: FieldErrors = {};
    if (!trimmed || trimmed.length > MAX_NAME) errors.name = `A name of 1 to ${MAX_NAME} characters`;
    const checked = evaluateBody(legs, dates);
    this.dispatch({ type: "strategySaveAsked", gen });
    if ("errors" in checked || errors.name) {
      const fix = legs.length ? "Fix the legs first (the fields marked above)" : "Add a leg first";
      const message = "errors" in checked ? fix : null;
      this.dispatch({ type: "strategySaveFailed", gen, errors, message });
      return;
    }
    const body = { name: trimmed, legs: checked.body.legs };
    const send =
      loaded && loaded.name === trimmed
        ? this.deps.rest.replace(loaded.id, body, this.lifetime.signal)
        : this.deps.rest.create(body, this.lifetime.signal);
    this.ask(
      send,
      (strategy) => ({ type: "strategySaved", gen, strategy }),
      (err) => ({ type: "strategySaveFailed", gen, ...refusal(err, "Strategy limit reached") }),
    );
  }

  load(id: string): void {
    const strategy = this.state.saved?.find((s) => s.id === id);
    if (!strategy) return;
    this.dispatch({ type: "strategyLoaded", strategy });
    const option = strategy.legs.find((l) => l.option_type !== null);
    this.deps.select({ product: strategy.legs[0].product, ...(option?.expiry ? { expiry: option.expiry } : {}) });
  }

  remove(id: string): void {
    const { gen, busy } = this.state;
    if (busy.includes(id)) return;
    this.dispatch({ type: "strategyDeleting", gen, id });
    this.ask(
      this.deps.rest.remove(id, this.lifetime.signal),
      () => ({ type: "strategyDeleted", gen, id }),
      (err): Action =>
        err instanceof ApiError && err.status === 404
          ? { type: "strategyDeleted", gen, id }
          : { type: "strategyDeleteFailed", gen, id, message: `Could not delete: ${describeError(err)}` },
    );
  }

  /** The saved strategies, asked again after RETRY_MS·2^attempt while the failure may pass. */
  private readList(attempt: number): void {
    const { gen } = this.state;
    this.listing = true;
    this.ask(
      this.deps.rest.list(this.lifetime.signal),
      (strategies) => ({ type: "strategiesLoaded", gen, strategies }),
      (err) => {
        const wait = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** attempt);
        if (passing(err)) this.later(() => this.readList(attempt + 1), wait);
        return { type: "strategiesFailed", gen, note: `Saved strategies: ${describeError(err)}` };
      },
    );
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

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

/** The template's query, or its refused fields: a whole width ≥ 1, a quantity above 0, an expiry,
 * a calendar's far expiry after it. */
export function templateQuery(
  c: TemplateChoice,
  expiry: string | null,
  quantity: string,
): { query: TemplateQuery } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const width = parseNumber(c.width);
  if (width === null || !Number.isInteger(width) || width < 1) errors.width = "A whole number of strikes, 1 or more";
  const qty = parseNumber(quantity);
  if (qty === null || Number.isNaN(qty) || qty <= 0) errors.quantity = "A quantity above 0";
  if (!expiry) errors.expiry = "Pick an expiry";
  if (c.name === "calendar" && !(c.far_expiry && expiry && c.far_expiry > expiry)) {
    errors.far_expiry = "A later expiry than the one shown";
  }
  if (Object.keys(errors).length || width === null || qty === null || !expiry) return { errors };
  const query: TemplateQuery = { name: c.name, expiry, quantity: qty, width };
  if (TYPED_TEMPLATES.includes(c.name)) query.option_type = c.option_type;
  if (c.name === "calendar") query.far_expiry = c.far_expiry;
  return { query };
}

/** StrategyIntents that call the controller `get()` returns when asked (built before it). */
export function lazyStrategyIntents(get: () => StrategyIntents): StrategyIntents {
  return {
    addLeg: (strike, kind, side) => get().addLeg(strike, kind, side),
    changeLeg: (key, patch) => get().changeLeg(key, patch),
    removeLeg: (key) => get().removeLeg(key),
    clear: () => get().clear(),
    setQuantity: (text) => get().setQuantity(text),
    addDate: () => get().addDate(),
    setDate: (index, value) => get().setDate(index, value),
    removeDate: (index) => get().removeDate(index),
    applyTemplate: (choice) => get().applyTemplate(choice),
    save: (name) => get().save(name),
    load: (id) => get().load(id),
    remove: (id) => get().remove(id),
  };
}
