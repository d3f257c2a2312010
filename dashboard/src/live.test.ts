import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { POSITION_DOC, orderDoc } from "./test/paper";

// A stand-in for socket.io-client's Socket: records emits, lets the test fire server events.
class FakeSocket {
  handlers = new Map<string, ((...a: unknown[]) => void)[]>();
  managerHandlers = new Map<string, ((...a: unknown[]) => void)[]>();
  emitted: { event: string; data: unknown; ack?: (err: Error | null, payload: unknown) => void }[] = [];
  connected = false;
  active = false;
  connects = 0;
  opts: Record<string, unknown>;
  io = {
    on: (ev: string, fn: (...a: unknown[]) => void) =>
      this.managerHandlers.set(ev, [...(this.managerHandlers.get(ev) ?? []), fn]),
    removeAllListeners: () => this.managerHandlers.clear(),
  };
  constructor(opts: Record<string, unknown>) {
    this.opts = opts;
  }
  on(ev: string, fn: (...a: unknown[]) => void) {
    this.handlers.set(ev, [...(this.handlers.get(ev) ?? []), fn]);
    return this;
  }
  fire(ev: string, ...args: unknown[]) {
    for (const fn of this.handlers.get(ev) ?? []) fn(...args);
  }
  timeout() {
    return {
      emit: (event: string, data: unknown, ack: FakeSocket["emitted"][0]["ack"]) =>
        this.emitted.push({ event, data, ack }),
    };
  }
  connect() {
    this.connects += 1;
    this.active = true;
  }
  disconnect() {
    this.connected = false;
    this.active = false;
  }
  removeAllListeners() {
    this.handlers.clear();
  }
  /** The server accepted the connection. */
  accept() {
    this.connected = true;
    this.fire("connect");
  }
}

let socket: FakeSocket;
vi.mock("socket.io-client", () => ({
  io: (_url: string, opts: Record<string, unknown>) => (socket = new FakeSocket(opts)),
}));

const { Live } = await import("./live");

function makeLive(auth: Record<string, unknown> = {}) {
  const events = {
    chains: [] as unknown[],
    statuses: [] as string[],
    errors: [] as unknown[],
    alerts: [] as unknown[],
    paper: [] as [string, unknown][],
  };
  const fakeAuth = {
    token: "t1",
    loggedIn: true,
    fresh: vi.fn(() => Promise.resolve("t1")),
    refresh: vi.fn(async () => {}),
    ...auth,
  };
  const live = new Live(fakeAuth as never, {
    onChain: (c) => events.chains.push(c),
    onUnderlying: () => {},
    onStatus: (s, d) => events.statuses.push(d ? `${s}: ${d}` : s),
    onServerError: (e) => events.errors.push(e),
    onAlert: (t) => events.alerts.push(t),
    onPaperOrder: (o) => events.paper.push(["order", o]),
    onPaperPosition: (p) => events.paper.push(["position", p]),
    onPaperAccount: (a) => events.paper.push(["account", a]),
  });
  return { live, events, auth: fakeAuth };
}

describe("Live", () => {
  beforeEach(() => {
    vi.stubGlobal("window", { addEventListener: () => {}, removeEventListener: () => {} });
    vi.stubGlobal("navigator", { onLine: true });
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("connects with the current token and subscribes on every connect", async () => {
    const { live, events } = makeLive();
    live.select({ product: "NIFTY", expiry: "2026-11-26" });
    live.start("http://h:8002");
    expect(socket.opts.path).toBe("/socket.io");
    expect(socket.opts.transports).toEqual(["websocket", "polling"]);
    const auth = socket.opts.auth as (cb: (d: object) => void) => void;
    await expect(new Promise((r) => auth(r))).resolves.toEqual({ token: "t1" });
    socket.accept();
    expect(events.statuses.at(-1)).toBe("live");
    expect(socket.emitted.map((e) => [e.event, e.data])).toEqual([
      ["subscribe", { product: "NIFTY", expiry: "2026-11-26" }],
    ]);
    socket.connected = false;
    socket.fire("disconnect", "transport close");
    expect(events.statuses.at(-1)).toMatch(/^reconnecting/);
    socket.accept();
    expect(socket.emitted.filter((e) => e.event === "subscribe")).toHaveLength(2);
  });

  it("unsubscribes the confirmed subscription and subscribes the new one on a switch", () => {
    const { live } = makeLive();
    const a = { product: "NIFTY", expiry: "2026-11-26" };
    live.select(a);
    live.start("http://h:8002");
    socket.accept();
    socket.emitted[0].ack!(null, { ok: true, rooms: ["x"] });
    live.select({ product: "BANKNIFTY", expiry: "2026-11-25" });
    expect(socket.emitted.slice(1).map((e) => [e.event, e.data])).toEqual([
      ["unsubscribe", a],
      ["subscribe", { product: "BANKNIFTY", expiry: "2026-11-25" }],
    ]);
  });

  it("drops a subscription whose ack comes after a switch, and reports refused ones", () => {
    const { live, events } = makeLive();
    const a = { product: "NIFTY", expiry: "2026-11-26" };
    live.select(a);
    live.start("http://h:8002");
    socket.accept();
    const first = socket.emitted[0];
    live.select({ product: "TCS", expiry: "2026-11-25" });
    expect(socket.emitted.map((e) => e.event)).toEqual(["subscribe", "subscribe"]); // a not confirmed yet
    first.ack!(null, { ok: true, rooms: [] });
    expect(socket.emitted.at(-1)).toMatchObject({ event: "unsubscribe", data: a });
    socket.emitted[1].ack!(null, '{"ok": false, "error": {"code": "unknown_expiry", "message": "no such expiry"}}');
    expect(events.errors).toEqual([{ code: "unknown_expiry", message: "no such expiry" }]);
  });

  it("passes on only the selected chain, parsed from a JSON string if need be", () => {
    const { live, events } = makeLive();
    live.select({ product: "NIFTY", expiry: "2026-11-26" });
    live.start("http://h:8002");
    socket.accept();
    const chain = {
      product: "NIFTY",
      expiry: "2026-11-26",
      timestamp: "2026-11-21T09:41:00.000Z",
      spot_price: 1,
      strikes: [],
      calls: [],
      puts: [],
    };
    socket.fire("chain_update", JSON.stringify(chain));
    socket.fire("chain_update", { ...chain, expiry: "2026-12-31" });
    expect(events.chains).toHaveLength(1);
  });

  it("passes on every alert trigger, whatever is subscribed, and leaves out unreadable ones", () => {
    const { live, events } = makeLive();
    live.select({ product: "NIFTY", expiry: "2026-11-26" });
    live.start("http://h:8002");
    socket.accept();
    const trigger = {
      trigger_id: "ab".repeat(16),
      alert_id: "al_AAAAAAAAAAAAAAAAAAAAAA",
      owner: "u1",
      product: "BTC",
      expiry: null,
      metric: "spot",
      op: "crosses_above",
      strike: null,
      option_type: null,
      value: 97_010.5,
      threshold: 97_000,
      timestamp: "2026-12-06T09:41:00.123Z",
      triggered_at: "2026-12-06T09:41:00.140Z",
      note: null,
    };
    socket.fire("alert", trigger); // BTC while NIFTY is shown: passed on all the same
    socket.fire("alert", JSON.stringify({ ...trigger, trigger_id: "cd".repeat(16) }));
    socket.fire("alert", { ...trigger, metric: "no_such_metric" });
    socket.fire("alert", "not json");
    expect(events.alerts).toMatchObject([
      { trigger_id: "ab".repeat(16), product: "BTC", value: 97_010.5, threshold: 97_000 },
      { trigger_id: "cd".repeat(16) },
    ]);
    expect(events.alerts).toHaveLength(2);
  });

  it("passes on the user's paper events, amounts as the decimal strings sent, and leaves out unreadable ones", () => {
    const { live, events } = makeLive();
    live.start("http://h:8002");
    socket.accept();
    socket.fire("order_update", JSON.stringify(orderDoc({ type: "LIMIT", limit_price: "100.5" })));
    socket.fire("order_update", orderDoc({ state: "SETTLED" }));
    socket.fire("position_update", POSITION_DOC);
    socket.fire("account_update", {
      currency: "INR",
      cash: "983585.55",
      margin_used: "0.00",
      realized_pnl: "0.00",
      fees: "8.20",
    });
    socket.fire("account_update", { currency: "INR", cash: 983585.55 });
    expect(events.paper.map(([kind]) => kind)).toEqual(["order", "position", "account"]);
    expect(events.paper[0][1]).toMatchObject({ type: "LIMIT", limit_price: "100.5", quantity: "75" });
    expect(events.paper[1][1]).toMatchObject({ quantity: "75", mark: "120" });
    expect(events.paper[2][1]).toMatchObject({ cash: "983585.55", fees: "8.20", equity: null });
  });

  it("refreshes the token and connects again after token_expired", async () => {
    const { live, auth, events } = makeLive();
    live.start("http://h:8002");
    expect(socket.connects).toBe(1);
    socket.active = false; // refused by the server's middleware: no automatic retry
    socket.fire(
      "connect_error",
      Object.assign(new Error("token_expired"), { data: { code: "token_expired", message: "Signature has expired" } }),
    );
    await vi.runOnlyPendingTimersAsync();
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(socket.connects).toBe(2);
    socket.active = false;
    socket.fire(
      "connect_error",
      Object.assign(new Error("too_many_connections"), {
        data: { code: "too_many_connections", message: "at most 5" },
      }),
    );
    expect(events.statuses.at(-1)).toBe("offline: Too many connections: at most 5");
    await vi.advanceTimersByTimeAsync(61_000);
    expect(socket.connects).toBe(3);
  });

  it("shows degraded mode while connected", () => {
    const { live, events } = makeLive();
    live.start("http://h:8002");
    socket.accept();
    socket.fire("mode", { mode: "degraded", max_rate_hz: 2 });
    expect(events.statuses.at(-1)).toBe("degraded: updates capped at 2 Hz");
    socket.fire("mode", '{"mode": "normal", "max_rate_hz": 10}');
    expect(events.statuses.at(-1)).toBe("live");
  });
});
