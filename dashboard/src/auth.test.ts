import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, Auth, describeError } from "./auth";
import { MemoryStorage } from "./test/memoryStorage";

const json = (status: number, body: unknown) =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });

let n = 0;
const pair = () => ({ access_token: `a${++n}`, refresh_token: `r${n}`, token_type: "Bearer", expires_in: 900 });

describe("Auth", () => {
  let fetchMock: ReturnType<typeof vi.fn<typeof fetch>>;
  /** The JSON body of the n-th fetch. */
  const sentBody = (n: number) => JSON.parse(fetchMock.mock.calls[n][1]?.body as string) as Record<string, unknown>;
  beforeEach(() => {
    fetchMock = vi.fn<typeof fetch>();
    vi.stubGlobal("fetch", fetchMock);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("logs in, keeps the pair in storage, and shows the server's message on failure", async () => {
    const storage = new MemoryStorage();
    const auth = new Auth(storage);
    fetchMock.mockResolvedValueOnce(
      json(401, { error: { code: "invalid_credentials", message: "Wrong username or password." } }),
    );
    await expect(auth.login("alice", "x")).rejects.toThrow("Wrong username or password.");
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "secret-password");
    expect(auth.loggedIn).toBe(true);
    expect(new Auth(storage).token).toBe(auth.token);
  });

  it("shares one refresh between concurrent callers (a refresh token works once)", async () => {
    const auth = new Auth(new MemoryStorage());
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "pw");
    let release!: (r: Response) => void;
    fetchMock.mockReturnValueOnce(new Promise<Response>((r) => (release = r)));
    const a = auth.refresh();
    const b = auth.refresh();
    release(json(200, pair()));
    await Promise.all([a, b]);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(Object.keys(sentBody(1))).toEqual(["refresh_token"]);
    expect(sentBody(1).refresh_token).toMatch(/^r\d+$/);
  });

  it("retries a 401 once after refreshing, and ends the session when refresh is refused", async () => {
    const auth = new Auth(new MemoryStorage());
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
    const auth = new Auth(new MemoryStorage());
    fetchMock.mockResolvedValueOnce(json(200, { ...pair(), expires_in: 300 }));
    await auth.login("alice", "pw");
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await vi.advanceTimersByTimeAsync(239_000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(fetchMock.mock.calls[1][0]).toBe("/api/auth/refresh");
  });

  it("logs out with the bearer token and the refresh token", async () => {
    const auth = new Auth(new MemoryStorage());
    fetchMock.mockResolvedValueOnce(json(200, pair()));
    await auth.login("alice", "pw");
    const token = auth.token;
    fetchMock.mockResolvedValueOnce(json(204, null));
    await auth.logout();
    const [path, init] = fetchMock.mock.calls[1];
    expect(path).toBe("/api/auth/logout");
    expect((init?.headers as Record<string, string>).Authorization).toBe(`Bearer ${token}`);
    expect(sentBody(1).refresh_token).toMatch(/^r/);
    expect(auth.loggedIn).toBe(false);
  });

  it("describes errors with their fields", () => {
    expect(describeError(new ApiError(422, "validation_error", "Invalid body.", { password: ["Too short."] }))).toBe(
      "Invalid body. (password: Too short.)",
    );
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/reach the server/);
  });
});
