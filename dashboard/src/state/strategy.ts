// The strategy builder's part of the dashboard state: the legs as edited, the dates of the extra
// curves, the newest evaluation, the template form, the user's saved strategies. Changed only by
// reduceStrategy (called by reducer.ts). Every change of the legs or dates bumps `version`; an
// evaluation is applied only when it is the newest asked (`evalSeq`) and of the current version, so
// an older request's answer is dropped. Answers carry the generation they were asked under and are
// dropped after a sign-out (`gen` bumps).
import { draftOf, type FieldErrors, type LegDraft } from "../strategy/legs";
import { MAX_LEGS, type Evaluation, type SavedStrategy, type WireLeg } from "../strategy/model";

/** A form's state while it is sent and after it was refused. */
export interface FormState {
  pending: boolean;
  errors: FieldErrors;
  message: string | null;
}

const IDLE: FormState = { pending: false, errors: {}, message: null };

export interface StrategyState {
  /** Bumps on every sign-in and sign-out. */
  gen: number;
  legs: LegDraft[];
  /** The key of the next leg added. */
  nextKey: number;
  /** Bumps on every change of the legs or dates. */
  version: number;
  /** Units of the underlying of each leg added from the chain and of a template's legs, as typed. */
  quantity: string;
  /** Moments of the extra curves, as typed (`datetime-local` values read as UTC). */
  dates: string[];
  /** The legs' and dates' refused fields (the local checks' and the service's), by the service's names. */
  errors: FieldErrors;
  /** What else the builder says: a refusal naming no field, the legs of another product cleared. */
  message: string | null;
  /** The newest evaluation asked for; `pending` until it is answered. */
  evalSeq: number;
  pending: boolean;
  /** The newest evaluation applied, and the version of the legs it values. */
  result: Evaluation | null;
  resultVersion: number;
  /** The template form; `templateSeq` is the newest template asked for. */
  template: FormState;
  templateSeq: number;
  /** The user's saved strategies; null until read. */
  saved: SavedStrategy[] | null;
  savedNote: string | null;
  save: FormState;
  /** Saved strategies being deleted. */
  busy: string[];
  /** The saved strategy the legs were loaded from (or saved as). */
  loaded: { id: string; name: string } | null;
}

export type StrategyAction =
  | { type: "strategyLegAdded"; leg: Omit<LegDraft, "key" | "quantity" | "price"> }
  | { type: "strategyLegChanged"; key: number; patch: Partial<Pick<LegDraft, "side" | "quantity" | "price">> }
  | { type: "strategyLegRemoved"; key: number }
  | { type: "strategyCleared" }
  | { type: "strategyQuantitySet"; quantity: string }
  | { type: "strategyDatesSet"; dates: string[] }
  | { type: "strategyLoaded"; strategy: SavedStrategy }
  | { type: "strategyEvalAsked"; seq: number; version: number }
  | { type: "strategyEvaluated"; gen: number; seq: number; version: number; result: Evaluation }
  | {
      type: "strategyEvalRefused";
      gen: number;
      seq: number | null;
      version: number;
      errors: FieldErrors;
      message: string | null;
    }
  | { type: "strategyTemplateAsked"; gen: number; seq: number }
  | { type: "strategyTemplateLoaded"; gen: number; seq: number; legs: WireLeg[] }
  | { type: "strategyTemplateFailed"; gen: number; seq: number; errors: FieldErrors; message: string | null }
  | { type: "strategiesLoaded"; gen: number; strategies: SavedStrategy[] }
  | { type: "strategiesFailed"; gen: number; note: string }
  | { type: "strategySaveAsked"; gen: number }
  | { type: "strategySaved"; gen: number; strategy: SavedStrategy }
  | { type: "strategySaveFailed"; gen: number; errors: FieldErrors; message: string | null }
  | { type: "strategyDeleting"; gen: number; id: string }
  | { type: "strategyDeleted"; gen: number; id: string }
  | { type: "strategyDeleteFailed"; gen: number; id: string; message: string };

const STRATEGY_ACTIONS: ReadonlySet<string> = new Set<StrategyAction["type"]>([
  "strategyLegAdded",
  "strategyLegChanged",
  "strategyLegRemoved",
  "strategyCleared",
  "strategyQuantitySet",
  "strategyDatesSet",
  "strategyLoaded",
  "strategyEvalAsked",
  "strategyEvaluated",
  "strategyEvalRefused",
  "strategyTemplateAsked",
  "strategyTemplateLoaded",
  "strategyTemplateFailed",
  "strategiesLoaded",
  "strategiesFailed",
  "strategySaveAsked",
  "strategySaved",
  "strategySaveFailed",
  "strategyDeleting",
  "strategyDeleted",
  "strategyDeleteFailed",
]);

export function isStrategyAction(a: { type: string }): a is StrategyAction {
  return STRATEGY_ACTIONS.has(a.type);
}

export function emptyStrategy(gen: number): StrategyState {
  return {
    gen,
    legs: [],
    nextKey: 1,
    version: 0,
    quantity: "1",
    dates: [],
    errors: {},
    message: null,
    evalSeq: 0,
    pending: false,
    result: null,
    resultVersion: -1,
    template: IDLE,
    templateSeq: 0,
    saved: null,
    savedNote: null,
    save: IDLE,
    busy: [],
    loaded: null,
  };
}

/** The legs or dates changed: a new version, the old refusals gone (the next evaluation checks
 * again), no result when there is nothing left to value. */
function changed(s: StrategyState, patch: Partial<StrategyState>): StrategyState {
  const next = { ...s, ...patch, version: s.version + 1, errors: {}, message: patch.message ?? null };
  return next.legs.length ? next : { ...next, result: null, pending: false };
}

/** The legs replaced by these (a template's, a saved strategy's). */
function replaced(s: StrategyState, legs: WireLeg[], loaded: StrategyState["loaded"]): StrategyState {
  const drafts = legs.slice(0, MAX_LEGS).map((leg, i) => draftOf(leg, s.nextKey + i));
  return changed(s, { legs: drafts, nextKey: s.nextKey + drafts.length, loaded });
}

function added(s: StrategyState, leg: Omit<LegDraft, "key" | "quantity" | "price">): StrategyState {
  const other = s.legs.length > 0 && s.legs[0].product !== leg.product;
  if (!other && s.legs.length >= MAX_LEGS) return { ...s, message: `At most ${MAX_LEGS} legs` };
  const draft: LegDraft = { ...leg, key: s.nextKey, quantity: s.quantity, price: "" };
  const message = other ? `A new ${leg.product} strategy: the ${s.legs[0].product} legs were cleared` : null;
  const loaded = other ? null : s.loaded;
  return changed(s, { legs: other ? [draft] : [...s.legs, draft], nextKey: s.nextKey + 1, message, loaded });
}

/** The builder's own edits. */
function reduceEdit(s: StrategyState, a: StrategyAction): StrategyState {
  switch (a.type) {
    case "strategyLegAdded":
      return added(s, a.leg);
    case "strategyLegChanged": {
      const leg = s.legs.find((l) => l.key === a.key);
      if (!leg || Object.entries(a.patch).every(([k, v]) => leg[k as keyof LegDraft] === v)) return s;
      return changed(s, { legs: s.legs.map((l) => (l.key === a.key ? { ...l, ...a.patch } : l)) });
    }
    case "strategyLegRemoved":
      return s.legs.some((l) => l.key === a.key) ? changed(s, { legs: s.legs.filter((l) => l.key !== a.key) }) : s;
    case "strategyCleared":
      return s.legs.length || s.dates.length ? changed(s, { legs: [], dates: [], loaded: null }) : s;
    case "strategyQuantitySet":
      return s.quantity === a.quantity ? s : { ...s, quantity: a.quantity };
    case "strategyDatesSet":
      return a.dates.join("|") === s.dates.join("|") ? s : changed(s, { dates: a.dates });
    case "strategyLoaded":
      return replaced(s, a.strategy.legs, { id: a.strategy.id, name: a.strategy.name });
    default:
      return s;
  }
}

/** Evaluations: only the newest asked, and only for the legs as they are now. */
function reduceEval(s: StrategyState, a: StrategyAction): StrategyState {
  switch (a.type) {
    case "strategyEvalAsked":
      return { ...s, evalSeq: a.seq, pending: true };
    case "strategyEvaluated":
      if (a.gen !== s.gen || a.seq !== s.evalSeq || a.version !== s.version) return s;
      return { ...s, pending: false, result: a.result, resultVersion: a.version, errors: {}, message: null };
    case "strategyEvalRefused":
      if (a.gen !== s.gen || a.version !== s.version || (a.seq !== null && a.seq !== s.evalSeq)) return s;
      return { ...s, pending: false, errors: a.errors, message: a.message };
    default:
      return s;
  }
}

const upsert = (list: SavedStrategy[] | null, x: SavedStrategy): SavedStrategy[] => {
  const all = list ?? [];
  return all.some((s) => s.id === x.id) ? all.map((s) => (s.id === x.id ? x : s)) : [...all, x];
};

/** Answers of the service other than evaluations: each of generation `gen` only. */
function reduceAnswers(s: StrategyState, a: StrategyAction): StrategyState {
  if (!("gen" in a) || a.gen !== s.gen) return s;
  switch (a.type) {
    case "strategyTemplateAsked":
      return { ...s, templateSeq: a.seq, template: { ...IDLE, pending: true } };
    case "strategyTemplateLoaded":
      return a.seq === s.templateSeq ? { ...replaced(s, a.legs, null), template: IDLE } : s;
    case "strategyTemplateFailed":
      if (a.seq !== s.templateSeq) return s;
      return { ...s, template: { pending: false, errors: a.errors, message: a.message } };
    case "strategiesLoaded":
      return { ...s, saved: a.strategies, savedNote: null };
    case "strategiesFailed":
      return { ...s, saved: s.saved ?? [], savedNote: a.note };
    case "strategySaveAsked":
      return { ...s, save: { ...IDLE, pending: true } };
    case "strategySaved":
      return {
        ...s,
        saved: upsert(s.saved, a.strategy),
        save: IDLE,
        loaded: { id: a.strategy.id, name: a.strategy.name },
      };
    case "strategySaveFailed":
      return { ...s, save: { pending: false, errors: a.errors, message: a.message } };
    case "strategyDeleting":
      return s.busy.includes(a.id) ? s : { ...s, busy: [...s.busy, a.id] };
    case "strategyDeleted":
      return {
        ...s,
        saved: (s.saved ?? []).filter((x) => x.id !== a.id),
        busy: s.busy.filter((id) => id !== a.id),
        loaded: s.loaded?.id === a.id ? null : s.loaded,
        savedNote: null,
      };
    case "strategyDeleteFailed":
      return { ...s, busy: s.busy.filter((id) => id !== a.id), savedNote: a.message };
    default:
      return s;
  }
}

/** What the result panel shows: nothing to value, a first answer awaited (or refused), the answer
 * for the legs as they are, or one for legs changed since (greyed while the next is asked). */
export function resultState(a: StrategyState): "empty" | "pending" | "ready" | "outdated" {
  if (!a.legs.length) return "empty";
  if (!a.result) return "pending";
  return a.resultVersion === a.version ? "ready" : "outdated";
}

export function reduceStrategy(s: StrategyState, a: StrategyAction): StrategyState {
  const edited = reduceEdit(s, a);
  if (edited !== s) return edited;
  const evaluated = reduceEval(s, a);
  return evaluated !== s ? evaluated : reduceAnswers(s, a);
}
