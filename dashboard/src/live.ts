// The Socket.IO connection to socket_gateway: auth on connect (current token each attempt),
// subscribe on every connect, unsubscribe/subscribe on a switch, and a status for the header.
import { io, type Socket } from "socket.io-client";
import { parseTrigger, type Trigger } from "./alerts/model";
import {
  parseAccount,
  parseOrder,
  parsePosition,
  type PaperAccount,
  type PaperOrder,
  type PaperPosition,
} from "./paper/model";
import type { Auth } from "./auth";
import { parseAck, parseChain, parseMode, parseServerError, parseUnderlying, type ServerError } from "./messages";
import type { EnrichedChain, EnrichedUnderlying } from "./types";

export type LiveStatus = "connecting" | "live" | "reconnecting" | "degraded" | "offline";

export interface LiveConfig {
  socket_url: string | null;
  socket_port: number;
}

export interface Selection {
  product: string;
  expiry: string;
}

const DEFAULT_SOCKET_PORT = 8002;
const ACK_TIMEOUT_MS = 8_000;

/** The runtime config of `/config.json`; a missing or broken one falls back to this host on 8002. */
export async function loadConfig(): Promise<{ config: LiveConfig; warning: string | null }> {
  try {
    const resp = await fetch("/config.json", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!resp.ok) throw new Error(`/config.json answered ${resp.status}`);
    const body = (await resp.json()) as Partial<LiveConfig>;
    const port = Number(body.socket_port);
    return {
      config: {
        socket_url: typeof body.socket_url === "string" && body.socket_url ? body.socket_url : null,
        socket_port: Number.isInteger(port) && port > 0 ? port : DEFAULT_SOCKET_PORT,
      },
      warning: null,
    };
  } catch (err) {
    return {
      config: { socket_url: null, socket_port: DEFAULT_SOCKET_PORT },
      warning: `No runtime config (${err instanceof Error ? err.message : String(err)}); trying port ${DEFAULT_SOCKET_PORT}`,
    };
  }
}

export function socketUrl(config: LiveConfig, loc: Pick<Location, "protocol" | "hostname">): string {
  return config.socket_url ?? `${loc.protocol}//${loc.hostname}:${config.socket_port}`;
}

/** Seconds to wait before retry `n` (1-based) after a refusal: capped exponential with jitter. */
export function backoffMs(n: number, baseMs = 2_000, capMs = 60_000, rand = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(exp / 2 + rand() * (exp / 2));
}

export interface LiveHandlers {
  onChain(chain: EnrichedChain): void;
  onUnderlying(u: EnrichedUnderlying): void;
  onStatus(status: LiveStatus, detail: string): void;
  onServerError(err: ServerError): void;
  /** A trigger of one of the user's alerts (sent to the user's own room, whatever is subscribed). */
  onAlert(trigger: Trigger): void;
  /** Paper trading's events to the user's room (the order, position and wallet documents). */
  onPaperOrder?(order: PaperOrder): void;
  onPaperPosition?(position: PaperPosition): void;
  onPaperAccount?(account: PaperAccount): void;
}

export class Live {
  private socket: Socket | null = null;
  private sub: Selection | null = null;
  /** The subscription the server confirmed on this connection (unsubscribing anything else
   *  would earn a `not_subscribed` error). */
  private confirmed: Selection | null = null;
  private everConnected = false;
  private degraded = false;
  private rateHz: number | null = null;
  private refusedDetail: string | null = null;
  private retries = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private status: LiveStatus = "connecting";
  private detail = "";
  private stopped = false;
  private readonly onOnline = () => this.wake();
  private readonly onOffline = () => this.setStatus("offline", "Browser is offline");

  constructor(
    private readonly auth: Auth,
    private readonly handlers: LiveHandlers,
  ) {}

  get current(): LiveStatus {
    return this.status;
  }

  start(url: string): void {
    const socket = io(url, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      autoConnect: false,
      reconnection: true,
      // Back within seconds of a gateway restart (2-3 s): tries at about 0.5, 1.5, 3.5, 5.5 s
      // (±50 %), then every 2 s; a refused attempt costs a down gateway nothing.
      reconnectionDelay: 500,
      reconnectionDelayMax: 2_000,
      randomizationFactor: 0.5,
      timeout: 10_000,
      // Called before every (re)connection attempt: a token refreshed if close to expiry.
      auth: (cb) => {
        this.auth.fresh().then(
          (token) => cb({ token: token ?? "" }),
          () => cb({ token: this.auth.token ?? "" }),
        );
      },
    });
    this.socket = socket;

    socket.on("connect", () => {
      this.confirmed = null;
      this.everConnected = true;
      this.retries = 0;
      this.attempt = 0;
      this.refusedDetail = null;
      this.degraded = false;
      this.rateHz = null;
      this.refreshStatus();
      if (this.sub) this.emitSubscribe(this.sub);
    });
    socket.on("disconnect", (reason) => {
      if (this.stopped) return;
      if (reason === "io server disconnect") {
        // The server closed the session (token expired or revoked, restart): no automatic
        // reconnection after this one, so refresh and come back ourselves.
        this.setStatus("reconnecting", "Disconnected by the server");
        this.retryLater(false);
      } else {
        this.setStatus(
          "reconnecting",
          reason === "ping timeout" || reason === "transport close" ? "connection lost" : reason,
        );
      }
    });
    socket.on("connect_error", (err: Error & { data?: unknown }) => this.connectError(err));
    socket.io.on("reconnect_attempt", (n) => {
      this.attempt = n;
      if (!this.stopped) this.setStatus(this.everConnected ? "reconnecting" : "connecting", `attempt ${n}`);
    });
    socket.on("chain_update", (payload: unknown) => {
      const chain = parseChain(payload);
      if (chain && this.sub && chain.product === this.sub.product && chain.expiry === this.sub.expiry) {
        this.handlers.onChain(chain);
      }
    });
    socket.on("underlying_update", (payload: unknown) => {
      const u = parseUnderlying(payload);
      if (u && this.sub && u.product === this.sub.product) this.handlers.onUnderlying(u);
    });
    socket.on("mode", (payload: unknown) => {
      const mode = parseMode(payload);
      if (!mode) return;
      this.degraded = mode.mode === "degraded";
      this.rateHz = mode.maxRateHz;
      this.refreshStatus();
    });
    socket.on("alert", (payload: unknown) => {
      const trigger = parseTrigger(payload);
      if (trigger) this.handlers.onAlert(trigger);
    });
    socket.on("order_update", (payload: unknown) => {
      const order = parseOrder(payload);
      if (order) this.handlers.onPaperOrder?.(order);
    });
    socket.on("position_update", (payload: unknown) => {
      const position = parsePosition(payload);
      if (position) this.handlers.onPaperPosition?.(position);
    });
    socket.on("account_update", (payload: unknown) => {
      const account = parseAccount(payload);
      if (account) this.handlers.onPaperAccount?.(account);
    });
    socket.on("error", (payload: unknown) => {
      const err = parseServerError(payload);
      if (err) this.handlers.onServerError(err);
    });

    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.setStatus("connecting", "");
    if (navigator.onLine === false) this.onOffline();
    socket.connect();
  }

  /** Follow a new product/expiry: unsubscribe the old one, subscribe the new one. */
  select(next: Selection | null): void {
    const prev = this.sub;
    if (prev && next && prev.product === next.product && prev.expiry === next.expiry) return;
    this.sub = next;
    const socket = this.socket;
    if (!socket?.connected) return; // the connect handler subscribes
    if (prev && this.confirmed === prev) this.emitUnsubscribe(prev);
    if (next) this.emitSubscribe(next);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.socket?.removeAllListeners();
    this.socket?.io.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  /** The token changed (refresh): nothing to do while connected, the next attempt reads it. */
  tokenRefreshed(): void {
    if (this.socket && !this.socket.connected && !this.socket.active && !this.retryTimer) this.wake();
  }

  private emitSubscribe(sub: Selection, attempt = 1): void {
    const socket = this.socket;
    if (!socket) return;
    socket.timeout(ACK_TIMEOUT_MS).emit("subscribe", sub, (err: Error | null, payload: unknown) => {
      if (!socket.connected) return; // the connect handler subscribes again
      if (this.sub !== sub) {
        // Switched away while this was in flight: drop it now that the server has it.
        if (!err && parseAck(payload).ok) this.emitUnsubscribe(sub);
        return;
      }
      if (err) {
        if (attempt < 3) this.emitSubscribe(sub, attempt + 1);
        else this.handlers.onServerError({ code: "timeout", message: "The server did not confirm the subscription" });
        return;
      }
      const ack = parseAck(payload);
      if (ack.ok) this.confirmed = sub;
      else if (ack.error) this.handlers.onServerError(ack.error);
    });
  }

  private emitUnsubscribe(sub: Selection): void {
    if (this.confirmed === sub) this.confirmed = null;
    this.socket?.timeout(ACK_TIMEOUT_MS).emit("unsubscribe", sub, () => {});
  }

  private connectError(err: Error & { data?: unknown }): void {
    if (this.stopped || !this.socket) return;
    const data = parseServerError(err.data);
    const code = data?.code ?? "";
    const reason = data?.message ?? err.message ?? "connection refused";
    if (this.socket.active) {
      // A transport-level failure: the manager retries by itself.
      const why = /poll error|websocket error|timeout|xhr/i.test(reason) ? "server unreachable" : reason;
      this.setStatus(
        this.everConnected ? "reconnecting" : "connecting",
        this.attempt ? `${why} · attempt ${this.attempt}` : why,
      );
      return;
    }
    // Refused by the server's middleware: socket.io does not retry these itself.
    if (code === "unavailable") {
      // The gateway cannot check tokens right now (keys or Redis): come back shortly.
      this.setStatus(this.everConnected ? "reconnecting" : "connecting", reason);
      this.retryLater(false);
      return;
    }
    if (code === "token_expired" || code === "unauthorized" || code === "invalid_token" || code === "token_revoked") {
      this.setStatus("connecting", `${reason}; renewing the session`);
      if (this.retries >= 3) {
        this.refusedDetail = reason;
        this.setStatus("offline", `Refused: ${reason}`);
        this.retryLater(false);
        return;
      }
      this.retries += 1;
      this.auth.refresh().then(
        () => this.wake(),
        () => {
          /* a refused refresh ends the session: Auth.onLogout shows the login page */
          if (this.auth.loggedIn) this.retryLater(false);
        },
      );
      return;
    }
    this.refusedDetail = code === "too_many_connections" ? `Too many connections: ${reason}` : `Refused: ${reason}`;
    this.setStatus("offline", this.refusedDetail);
    this.retryLater(false);
  }

  private retryLater(now: boolean): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retries += now ? 0 : 1;
    const delay = now ? 250 : backoffMs(Math.max(1, this.retries));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.wake();
    }, delay);
  }

  private wake(): void {
    if (this.stopped || !this.socket || this.socket.connected) return;
    if (!this.socket.active) this.socket.connect();
  }

  private refreshStatus(): void {
    if (!this.socket?.connected) return;
    if (this.degraded) {
      this.setStatus("degraded", this.rateHz ? `updates capped at ${this.rateHz} Hz` : "updates coalesced");
    } else {
      this.setStatus("live", "");
    }
  }

  private setStatus(status: LiveStatus, detail: string): void {
    if (status === this.status && detail === this.detail) return;
    this.status = status;
    this.detail = detail;
    this.handlers.onStatus(status, detail);
  }
}
