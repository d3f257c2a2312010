import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, Auth, cookieValue, describeError } from "./auth";
import { MemoryStorage } from "./test/memoryStorage";

const json = (status: number, body: unknown) =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });

let n = 0;
/** What the server answers a browser: no refresh_token (it is an HttpOnly cookie). */
const pair = () => ({ access_token: `a${++n}`, token_type: "Bearer", expires_in: 900 });
const COOKIES = () => "theme=dark; optionsflow_csrf=csrf%2Dtoken-1";

describe("Auth", () => {
  let fetchMock: ReturnType<typeof vi.fn<typeof fetch>>;
  /** The JSON body of the n-th fetch. */
  const sentBody = (n: number) => JSON.parse(fetchMock.mock.calls[n][1]?.body as string) as Record<string, unknown>;
  const sentHeaders = (n: number) => fetchMock.mock.calls[n][1]?.headers as Record<string, string>;
  beforeEach(() => {
    fetchMock = vi.fn<typeof fetch>();
    vi.stubGlobal("fetch", fetchMock);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("logs in asking for the refresh cookie, keeps the access token in memory only", async () => {
    const storage = new MemoryStorage();
    const auth = new Auth(storage, COOKIES);
    fetchMock.mockResolvedValueOnce(
      json(401, { error: { code: "invalid_credentials", message: "Wrong username or password." } }),
    );
    await expect(auth.login("alice", "x")).rejects.toThrow("Wrong username or password.");
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "secret-password");
    expect(sentBody(1)).toEqual({ username: "alice", password: "secret-password", refresh_cookie: true });
    expect(fetchMock.mock.calls[1][1]?.credentials).toBe("same-origin");
    expect(auth.loggedIn).toBe(true);
    expect(auth.token).toMatch(/^a\d+$/);
    // Nothing a script could steal is left in storage: only the name typed at login.
    const stored = Array.from({ length: storage.length }, (_, i) => storage.getItem(storage.key(i) ?? ""));
    expect(stored).toEqual([JSON.stringify({ user: "alice" })]);
    expect(stored.join()).not.toContain(auth.token as string);
  });

  it("after a reload gets a new access token with the cookie and the CSRF token", async () => {
    const storage = new MemoryStorage();
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await new Auth(storage, COOKIES).login("alice", "pw");
    const reloaded = new Auth(storage, COOKIES);
    expect(reloaded.loggedIn).toBe(true);
    expect(reloaded.token).toBeNull();
    expect(reloaded.username).toBe("alice");
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    const token = await reloaded.fresh();
    expect(token).toMatch(/^a\d+$/);
    expect(fetchMock.mock.calls[1][0]).toBe("/api/auth/refresh");
    expect(sentBody(1)).toEqual({});
    expect(sentHeaders(1)["X-CSRF-Token"]).toBe("csrf-token-1");
    expect(fetchMock.mock.calls[1][1]?.credentials).toBe("same-origin");
  });

  it("after a reload, logs out with a fresh access token so the server ends the family", async () => {
    const storage = new MemoryStorage();
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await new Auth(storage, COOKIES).login("alice", "pw");
    const reloaded = new Auth(storage, COOKIES);
    fetchMock.mockResolvedValueOnce(json(200, pair())).mockResolvedValueOnce(json(204, null));
    await reloaded.logout();
    expect(fetchMock.mock.calls.map((c) => c[0])).toEqual(["/api/auth/login", "/api/auth/refresh", "/api/auth/logout"]);
    expect(sentHeaders(2).Authorization).toMatch(/^Bearer a\d+$/);
    expect(sentHeaders(2)["X-CSRF-Token"]).toBe("csrf-token-1");
    expect(reloaded.loggedIn).toBe(false);
    expect(storage.getItem("optionsflow.session")).toBeNull();
  });

  it("drops tokens an older version kept in storage", () => {
    const storage = new MemoryStorage();
    storage.setItem("optionsflow.session", JSON.stringify({ access: "a0", refresh: "r0", user: "bob" }));
    const auth = new Auth(storage, COOKIES);
    expect(auth.token).toBeNull();
    expect(storage.getItem("optionsflow.session")).toBe(JSON.stringify({ user: "bob" }));
  });

  it("reads one cookie out of document.cookie", () => {
    expect(cookieValue("a=1; optionsflow_csrf=x%3Dy; b=2", "optionsflow_csrf")).toBe("x=y");
    expect(cookieValue("a=1", "optionsflow_csrf")).toBeNull();
    expect(cookieValue("", "optionsflow_csrf")).toBeNull();
  });

  it("shares one refresh between concurrent callers (a refresh token works once)", async () => {
    const auth = new Auth(new MemoryStorage(), COOKIES);
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "pw");
    let release!: (r: Response) => void;
    fetchMock.mockReturnValueOnce(new Promise<Response>((r) => (release = r)));
    const a = auth.refresh();
    const b = auth.refresh();
    release(json(200, pair()));
    await Promise.all([a, b]);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(sentBody(1)).toEqual({}); // the refresh token travels as the HttpOnly cookie
    expect(sentHeaders(1)["X-CSRF-Token"]).toBe("csrf-token-1");
  });

  it("retries a 401 once after refreshing, and ends the session when refresh is refused", async () => {
    const auth = new Auth(new MemoryStorage(), COOKIES);
    const lost = vi.fn();
    auth.onLogout = lost;
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "pw");
    fetchMock
      .mockResolvedValueOnce(json(401, { error: { code: "token_expired", message: "expired" } }))
      .mockResolvedValueOnce(json(200, pair()))
      .mockResolvedValueOnce(json(200, { products: [] }));
    await expect(auth.api("/api/products")).resolves.toEqual({ products: [] });
    const last = fetchMock.mock.calls[3][1]?.headers as Headers;
    expect(last.get("Authorization")).toBe(`Bearer ${auth.token}`);

    fetchMock
      .mockResolvedValueOnce(json(401, { error: { code: "token_revoked", message: "revoked" } }))
      .mockResolvedValueOnce(json(401, { error: { code: "token_reused", message: "Refresh token reused" } }));
    await expect(auth.api("/api/products")).rejects.toBeInstanceOf(ApiError);
    expect(auth.loggedIn).toBe(false);
    expect(lost).toHaveBeenCalledWith(expect.stringContaining("Refresh token reused"));
  });

  it("refreshes before the access token expires", async () => {
    const auth = new Auth(new MemoryStorage(), COOKIES);
    fetchMock.mockResolvedValueOnce(json(200, { ...pair(), expires_in: 300 }));
    await auth.login("alice", "pw");
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await vi.advanceTimersByTimeAsync(239_000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(fetchMock.mock.calls[1][0]).toBe("/api/auth/refresh");
  });

  it("logs out with the bearer token and the CSRF token (the cookie names the session)", async () => {
    const auth = new Auth(new MemoryStorage(), COOKIES);
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "pw");
    const token = auth.token;
    fetchMock.mockResolvedValueOnce(json(204, null));
    await auth.logout();
    const [path, init] = fetchMock.mock.calls[1];
    expect(path).toBe("/api/auth/logout");
    expect((init?.headers as Record<string, string>).Authorization).toBe(`Bearer ${token}`);
    expect(sentHeaders(1)["X-CSRF-Token"]).toBe("csrf-token-1");
    expect(sentBody(1)).toEqual({});
    expect(auth.loggedIn).toBe(false);
  });

  it("describes errors with their fields", () => {
    expect(describeError(new ApiError(422, "validation_error", "Invalid body.", { password: ["Too short."] }))).toBe(
      "Invalid body. (password: Too short.)",
    );
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/reach the server/);
  });
});
