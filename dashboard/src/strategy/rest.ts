// The strategy routes of paper_service through the gateway (`/api/strategies`): evaluate a set of
// legs on the live chains, a template's legs around ATM, and the user's saved strategies (list,
// create, replace, delete). Errors are ApiError (auth.ts): a 422 names the field (`legs[2].strike`),
// a 404 an expiry without a live chain or a strategy gone, a 409 the user's strategy limit.
import type { Auth } from "../auth";
import {
  parseEvaluation,
  parseLegs,
  parseSaved,
  parseSavedList,
  type Evaluation,
  type OptionKind,
  type SavedStrategy,
  type TemplateName,
  type WireLeg,
} from "./model";

/** What `POST /api/strategies/evaluate` takes. */
export interface EvaluateBody {
  legs: WireLeg[];
  /** ISO instants between now and the first expiry, each with a curve of its own. */
  dates: string[];
}

/** The query of `GET /api/strategies/templates/{product}`. */
export interface TemplateQuery {
  name: TemplateName;
  expiry: string;
  /** Units of the underlying per leg (a butterfly's body twice that). */
  quantity: number;
  /** Listed strikes between the legs. */
  width: number;
  option_type?: OptionKind;
  /** A calendar's later expiry. */
  far_expiry?: string;
}

/** What `POST /api/strategies` and `PUT /api/strategies/{id}` take. */
export interface SaveBody {
  name: string;
  legs: WireLeg[];
  note?: string;
}

const enc = encodeURIComponent;
const JSON_HEADERS = { "Content-Type": "application/json" };

function unreadable(): Error {
  return new Error("Unreadable answer from the server");
}

export class StrategyRest {
  constructor(private readonly auth: Pick<Auth, "api">) {}

  async evaluate(body: EvaluateBody, signal?: AbortSignal): Promise<Evaluation> {
    const init = { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body), signal };
    const answer = parseEvaluation(await this.auth.api<unknown>("/api/strategies/evaluate", init));
    if (!answer) throw unreadable();
    return answer;
  }

  /** The legs of a template on `product`'s live chain(s), prices null (the live mids). */
  async template(product: string, q: TemplateQuery, signal?: AbortSignal): Promise<WireLeg[]> {
    const params = new URLSearchParams({
      name: q.name,
      expiry: q.expiry,
      quantity: String(q.quantity),
      width: String(q.width),
    });
    if (q.option_type) params.set("option_type", q.option_type);
    if (q.far_expiry) params.set("far_expiry", q.far_expiry);
    const path = `/api/strategies/templates/${enc(product)}?${params.toString()}`;
    const answer = await this.auth.api<{ legs?: unknown } | null>(path, { signal });
    const legs = parseLegs(answer?.legs);
    if (!legs) throw unreadable();
    return legs;
  }

  /** The caller's saved strategies (the readable ones). */
  async list(signal?: AbortSignal): Promise<SavedStrategy[]> {
    return parseSavedList(await this.auth.api<unknown>("/api/strategies", { signal }));
  }

  async create(body: SaveBody, signal?: AbortSignal): Promise<SavedStrategy> {
    const init = { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body), signal };
    const saved = parseSaved(await this.auth.api<unknown>("/api/strategies", init));
    if (!saved) throw unreadable();
    return saved;
  }

  /** Replace the name, legs and note of strategy `id`. */
  async replace(id: string, body: SaveBody, signal?: AbortSignal): Promise<SavedStrategy> {
    const init = { method: "PUT", headers: JSON_HEADERS, body: JSON.stringify(body), signal };
    const saved = parseSaved(await this.auth.api<unknown>(`/api/strategies/${enc(id)}`, init));
    if (!saved) throw unreadable();
    return saved;
  }

  async remove(id: string, signal?: AbortSignal): Promise<void> {
    await this.auth.api<unknown>(`/api/strategies/${enc(id)}`, { method: "DELETE", signal });
  }
}
