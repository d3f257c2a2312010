"""Prometheus series of the Socket.IO gateway."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("optionsflow_socket_connections", "Connected Socket.IO clients.")
ROOMS = Gauge("optionsflow_socket_rooms", "Subscription rooms with at least one client.")
"""Computed when scraped (``set_function``): counting walks every room."""
REFUSED = Counter("optionsflow_socket_refused_total", "Connections refused, by reason.", ["reason"])
SESSIONS = Gauge(
    "optionsflow_socket_sessions",
    "Engine.IO sessions held, counted from the handshake: total, and pending (no "
    "authenticated Socket.IO connection yet).",
    ["state"],
)
"""Computed when scraped (``set_function``, socket_gateway/handshake.py)."""
SESSIONS_CLOSED = Counter(
    "optionsflow_socket_sessions_closed_total",
    "Engine.IO sessions the gateway closed, by reason (auth_timeout: no authenticated "
    "connection within SOCKET_AUTH_TIMEOUT_S).",
    ["reason"],
)
SUBSCRIBES = Counter(
    "optionsflow_socket_subscribe_total", "subscribe events, by outcome.", ["outcome"]
)
UNSUBSCRIBES = Counter(
    "optionsflow_socket_unsubscribe_total", "unsubscribe events, by outcome.", ["outcome"]
)
UPDATES_IN = Counter(
    "optionsflow_socket_updates_received_total",
    "Enriched messages read from Redis, by channel.",
    ["channel"],
)
EMITS = Counter("optionsflow_socket_emits_total", "Room emits, by event.", ["event"])
SUPERSEDED = Counter(
    "optionsflow_socket_superseded_total",
    "Updates replaced by a newer one of their room before being sent (degraded mode).",
)
EMIT_LAG = Histogram(
    "optionsflow_socket_emit_lag_seconds",
    "From an update's arrival in this gateway to its emit.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DELIVERY_DELAY = Histogram(
    "optionsflow_socket_origin_delay_seconds",
    "From an update's origin timestamp (feed) to its emit here.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DEGRADED = Gauge("optionsflow_socket_degraded", "1 while updates are coalesced and rate-capped.")
MALFORMED = Counter(
    "optionsflow_socket_malformed_total", "Enriched messages that could not be routed."
)
LISTENER_RECONNECTS = Counter(
    "optionsflow_socket_listener_reconnects_total",
    "Times the enriched listener lost Redis and connected again, by cause "
    "(silent: not even a ping was answered; error: the connection failed).",
    ["cause"],
)
LISTENER_RESYNCS = Counter(
    "optionsflow_socket_listener_resyncs_total",
    "Times the enriched listener, subscribed again after a lost connection, offered the "
    "rooms with clients here their newest cached updates.",
)
