// The REST clients' tests: a signed-in Auth over a stubbed fetch, answers as JSON Responses, and
// what each request sent.
import { vi } from "vitest";
import { Auth } from "../auth";
import { MemoryStorage } from "./memoryStorage";

export type FetchMock = ReturnType<typeof vi.fn<typeof fetch>>;

/** A JSON answer of `status` (none for 204). */
export const json = (status: number, body: unknown): Response =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });

/** [method, path, JSON body, Authorization] of the n-th request `fetchMock` got. */
export function sentBy(fetchMock: FetchMock, n: number): [string, unknown, unknown, string | null] {
  const [path, init] = fetchMock.mock.calls[n];
  const body = init?.body ? (JSON.parse(init.body as string) as unknown) : null;
  return [init?.method ?? "GET", path, body, new Headers(init?.headers).get("Authorization")];
}

/** Stub fetch, fake the token's refresh timer and sign "alice" in (access token "a1"); the mock
 * is cleared of the login. Undo with `restoreFetch` after each test. */
export async function signedIn(): Promise<{ fetchMock: FetchMock; auth: Auth }> {
  const fetchMock = vi.fn<typeof fetch>();
  vi.stubGlobal("fetch", fetchMock);
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }); // the token's refresh timer
  const auth = new Auth(new MemoryStorage(), () => "");
  fetchMock.mockResolvedValueOnce(json(200, { access_token: "a1", token_type: "Bearer", expires_in: 900 }));
  await auth.login("alice", "pw");
  fetchMock.mockClear();
  return { fetchMock, auth };
}

export function restoreFetch(): void {
  vi.useRealTimers();
  vi.unstubAllGlobals();
}
