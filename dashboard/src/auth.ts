// Tokens and the REST client. No script can read the refresh token: the server keeps it in an
// HttpOnly cookie sent only to /api/auth/refresh and /api/auth/logout; the access token lives in
// this object's memory only. sessionStorage (this tab) keeps just the name typed at login, so a
// reload knows to ask for a new access token with the cookie. Cookie requests carry the CSRF
// token (a script-readable cookie) in X-CSRF-Token. One refresh at a time (a refresh token works
// once; two concurrent refreshes would revoke the session), a refresh scheduled before the access
// token expires, and one retry after a 401.
import type { ApiErrorBody, TokenPair } from "./api";

const KEY = "optionsflow.session";
const CSRF_COOKIE = "optionsflow_csrf";
/** Refresh this long before the access token expires (or at 80 % of a short lifetime). */
const REFRESH_MARGIN_MS = 60_000;

interface Session {
  access: string | null; // null after a reload, until the cookie has been exchanged
  expiresAt: number; // epoch ms of the access token's expiry (client clock)
  lifetimeMs: number;
  user?: string; // as typed at login (the access token's subject is a user id)
}

/** The value of cookie `name` in a `document.cookie` string, or null. */
export function cookieValue(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string[]> | null = null,
  ) {
    super(message);
  }
}

/** The `{"error": {...}}` body of a failed answer as an ApiError (a plain one when not JSON). */
async function toError(resp: Response): Promise<ApiError> {
  let body: Partial<ApiErrorBody> | null = null;
  try {
    body = (await resp.json()) as Partial<ApiErrorBody>;
  } catch {
    /* not JSON: a proxy's page */
  }
  const e = body?.error;
  if (e && typeof e.message === "string") {
    return new ApiError(resp.status, e.code ?? String(resp.status), e.message, e.fields ?? null);
  }
  const retry = resp.headers.get("Retry-After");
  const text =
    resp.status === 429
      ? `Too many requests${retry ? `: try again in ${retry} s` : ""}`
      : `${resp.status} ${resp.statusText || "error"}`;
  return new ApiError(resp.status, String(resp.status), text);
}

/** A human sentence for an ApiError: the message plus the per-field reasons. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = err.fields
      ? Object.entries(err.fields)
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`)
          .join("; ")
      : "";
    return fields ? `${err.message} (${fields})` : err.message;
  }
  if (err instanceof TypeError) return "Cannot reach the server. Check your connection.";
  return err instanceof Error ? err.message : String(err);
}

async function postJson<T>(path: string, body: unknown, token?: string, csrf?: string | null): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" });
  if (!resp.ok) throw await toError(resp);
  return resp.status === 204 ? (undefined as T) : ((await resp.json()) as T);
}

export class Auth {
  private session: Session | null = null;
  private refreshing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Called once when the session is lost (refresh refused): show the login page. */
  onLogout: (reason: string | null) => void = () => {};
  /** Called after every successful refresh (new access token). */
  onRefresh: () => void = () => {};

  constructor(
    private readonly storage: Storage = sessionStorage,
    private readonly cookies: () => string = () => document.cookie,
  ) {
    try {
      const raw = storage.getItem(KEY);
      if (raw) {
        const s = JSON.parse(raw) as { user?: unknown };
        // Signed in before a reload: the access token is gone, the cookie gets a new one.
        this.session = { access: null, expiresAt: 0, lifetimeMs: 900_000 };
        if (typeof s?.user === "string") this.session.user = s.user;
      }
    } catch {
      storage.removeItem(KEY);
    }
    // Tokens an older version kept here must not stay readable.
    if (this.session) storage.setItem(KEY, JSON.stringify({ user: this.session.user }));
  }

  private get csrf(): string | null {
    try {
      return cookieValue(this.cookies(), CSRF_COOKIE);
    } catch {
      return null;
    }
  }

  get loggedIn(): boolean {
    return this.session !== null;
  }

  get token(): string | null {
    return this.session?.access ?? null;
  }

  /** The username given at login (else a `name`-like claim of the access token), for the header. */
  get username(): string | null {
    if (this.session?.user) return this.session.user;
    const t = this.session?.access;
    if (!t) return null;
    try {
      const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))) as Record<string, unknown>;
      const name = claims.name ?? claims.username ?? claims.preferred_username;
      return typeof name === "string" ? name : null;
    } catch {
      return null;
    }
  }

  async login(username: string, password: string): Promise<void> {
    const body = { username, password, refresh_cookie: true };
    this.store(await postJson<TokenPair>("/api/auth/login", body), username);
  }

  async register(username: string, password: string): Promise<void> {
    await postJson<unknown>("/api/auth/register", { username, password });
  }

  /**
   * Revoke the session on the server (best effort) and forget the tokens. Logout needs a live
   * access token: after a reload or a long sleep the cookie gets one first, else the HttpOnly
   * refresh cookie (which this page cannot delete) would outlive the logout.
   */
  async logout(): Promise<void> {
    if (this.session) await this.fresh();
    const s = this.session;
    this.clear();
    if (s?.access) {
      try {
        await postJson<void>("/api/auth/logout", {}, s.access, this.csrf);
      } catch {
        /* the tokens are forgotten anyway; an expired access token cannot log out */
      }
    }
  }

  /** Exchange the refresh token for a new pair; concurrent callers share one request. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Refresh first when the access token expires within the margin (or has expired). */
  async fresh(): Promise<string | null> {
    const s = this.session;
    if (!s) return null;
    if (this.refreshing || !s.access || Date.now() >= s.expiresAt - this.margin(s)) {
      try {
        await this.refresh();
      } catch {
        return null;
      }
    }
    return this.token;
  }

  /**
   * A REST call with the Bearer token; on a 401 the token is refreshed and the call made once more.
   * `init.signal` cancels the call (never the refresh: shared by every caller, it runs to its end).
   */
  async api<T>(path: string, init: RequestInit = {}): Promise<T> {
    const send = async (): Promise<Response> => {
      const headers = new Headers(init.headers);
      headers.set("Accept", "application/json");
      const token = this.token;
      if (token) headers.set("Authorization", `Bearer ${token}`);
      return fetch(path, { ...init, headers });
    };
    await this.fresh();
    let resp = await send();
    if (resp.status === 401 && this.session) {
      try {
        await this.refresh();
      } catch (err) {
        throw err instanceof ApiError ? err : await toError(resp);
      }
      resp = await send();
      if (resp.status === 401) {
        const err = await toError(resp);
        this.lose(err.message);
        throw err;
      }
    }
    if (!resp.ok) throw await toError(resp);
    return resp.status === 204 ? (undefined as T) : ((await resp.json()) as T); // 204: a DELETE's
  }

  private async doRefresh(): Promise<void> {
    const s = this.session;
    if (!s) throw new ApiError(401, "unauthorized", "Not logged in");
    try {
      this.store(await postJson<TokenPair>("/api/auth/refresh", {}, undefined, this.csrf));
    } catch (err) {
      // A refused refresh ends the session; a network error or 5xx keeps it for the next try.
      if (err instanceof ApiError && (err.status === 401 || err.status === 400 || err.status === 422)) {
        this.lose(`Session ended: ${err.message}`);
      } else {
        this.schedule(10_000);
      }
      throw err;
    }
    this.onRefresh();
  }

  private margin(s: Session): number {
    return Math.min(REFRESH_MARGIN_MS, s.lifetimeMs * 0.2);
  }

  private store(pair: TokenPair, user = this.session?.user): void {
    const lifetimeMs = Math.max(1, Number(pair.expires_in) || 900) * 1000;
    this.session = { access: pair.access_token, expiresAt: Date.now() + lifetimeMs, lifetimeMs, user };
    this.storage.setItem(KEY, JSON.stringify({ user }));
    this.schedule();
  }

  private schedule(inMs?: number): void {
    if (this.timer) clearTimeout(this.timer);
    const s = this.session;
    if (!s) return;
    const due = inMs ?? Math.max(1_000, s.expiresAt - this.margin(s) - Date.now());
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {});
    }, due);
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.session = null;
    this.storage.removeItem(KEY);
  }

  private lose(reason: string): void {
    if (!this.session) return;
    this.clear();
    this.onLogout(reason);
  }
}
