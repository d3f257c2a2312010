// Paper trading's routes through the gateway (`/api/paper/*`, docs/API.md "Paper trading"):
// place a basket, list and cancel orders, the positions marked to market, the account, the trade
// history and its CSV. Errors are ApiError (auth.ts): 409 `stale_market`, `client_order_id_conflict`,
// `order_not_open`; 422 naming the field.
import type { Auth } from "../auth";
import type { BasketBody } from "./basket";
import {
  parseAccounts,
  parseBasket,
  parseOrder,
  parseOrders,
  parsePositions,
  parseTrades,
  type OrderState,
  type Page,
  type PaperAccount,
  type PaperOrder,
  type PaperPosition,
  type PaperTrade,
} from "./model";

const JSON_HEADERS = { "Content-Type": "application/json" };

function unreadable(): Error {
  return new Error("Unreadable answer from the server");
}

/** The query of a page: `limit` rows after `cursor`. */
function pageQuery(limit: number, cursor: string | null, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ ...extra, limit: String(limit) });
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

/** The CSV download: the rows as a Blob and the file name the server gave. */
export interface CsvFile {
  blob: Blob;
  filename: string;
}

export class PaperRest {
  constructor(
    private readonly auth: Pick<Auth, "api" | "fresh">,
    private readonly fetcher: typeof fetch = (...a) => fetch(...a),
  ) {}

  /** Place the legs as one basket: 201 placed or 200 placed before (the same ids). */
  async placeBasket(body: BasketBody, signal?: AbortSignal): Promise<PaperOrder[]> {
    const init = { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body), signal };
    const orders = parseBasket(await this.auth.api<unknown>("/api/paper/baskets", init));
    if (!orders) throw unreadable();
    return orders;
  }

  async orders(state: OrderState | null, limit: number, signal?: AbortSignal): Promise<Page<PaperOrder>> {
    const query = pageQuery(limit, null, state ? { state } : {});
    return parseOrders(await this.auth.api<unknown>(`/api/paper/orders?${query}`, { signal }));
  }

  /** Cancel an open limit order: the CANCELLED order. */
  async cancel(id: string, signal?: AbortSignal): Promise<PaperOrder> {
    const path = `/api/paper/orders/${encodeURIComponent(id)}`;
    const order = parseOrder(await this.auth.api<unknown>(path, { method: "DELETE", signal }));
    if (!order) throw unreadable();
    return order;
  }

  async positions(signal?: AbortSignal): Promise<PaperPosition[]> {
    return parsePositions(await this.auth.api<unknown>("/api/paper/positions", { signal }));
  }

  async accounts(signal?: AbortSignal): Promise<PaperAccount[]> {
    return parseAccounts(await this.auth.api<unknown>("/api/paper/account", { signal }));
  }

  async trades(limit: number, cursor: string | null, signal?: AbortSignal): Promise<Page<PaperTrade>> {
    const path = `/api/paper/trades?${pageQuery(limit, cursor)}`;
    return parseTrades(await this.auth.api<unknown>(path, { signal }));
  }

  /** The trade history as CSV (the route needs the Bearer header, so a link cannot fetch it). */
  async tradesCsv(limit: number, signal?: AbortSignal): Promise<CsvFile> {
    const token = await this.auth.fresh();
    const headers: Record<string, string> = { Accept: "text/csv" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const resp = await this.fetcher(`/api/paper/trades.csv?${pageQuery(limit, null)}`, { headers, signal });
    if (!resp.ok) throw new Error(`Export failed (HTTP ${resp.status})`);
    const disposition = resp.headers.get("Content-Disposition") ?? "";
    const named = /filename="?([^";]+)"?/.exec(disposition);
    return { blob: await resp.blob(), filename: named?.[1] ?? "paper-trades.csv" };
  }
}
