"""Engine.IO sessions of one gateway instance, counted from their first handshake.

A Socket.IO connection is authenticated by the ``auth`` of its ``connect`` packet,
which comes *after* the Engine.IO handshake. A session that never sends one (or
whose connect is refused) still holds a socket, a green thread and its buffers:
a review held 1,000 such sessions from one address for a minute (+50 MB,
+1,000 file descriptors) while the per-address limit counted only authenticated
connections. So every session is counted here from its handshake: per client
address and in total (both refused at the handshake), and those without an
authenticated connection also among the *pending*, which have a limit of their
own (so unauthenticated sessions from many addresses cannot take the places of
authenticated ones) and a deadline: past ``auth_timeout_s`` they are closed.

No I/O and no clock of its own: the caller passes ``now`` (monotonic seconds), so
the policy is tested without a server (``gateway.py`` wires it to Engine.IO).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionRefusal:
    """Why a handshake was refused; its JSON body (the answer is a 401)."""

    code: str
    message: str

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class EngineSessions:
    """The book of one instance's Engine.IO sessions (one eventlet hub: no locks needed)."""

    def __init__(
        self, *, per_ip: int, max_sessions: int, max_pending: int, auth_timeout_s: float
    ) -> None:
        self.per_ip = per_ip
        self.max_sessions = max_sessions
        self.max_pending = max_pending
        self.auth_timeout_s = auth_timeout_s
        self._ip_of: dict[str, str] = {}
        self._ips: Counter[str] = Counter()
        self._deadline: dict[str, float] = {}
        """Pending sessions → when they are closed; in deadline order (one timeout for all,
        a monotonic clock), so :meth:`overdue` stops at the first one not yet due."""

    @property
    def total(self) -> int:
        return len(self._ip_of)

    @property
    def pending(self) -> int:
        return len(self._deadline)

    def of_ip(self, ip: str) -> int:
        return self._ips.get(ip, 0)

    def of_session(self, eio_sid: str) -> str | None:
        """The client address of a session held here; None when unknown."""
        return self._ip_of.get(eio_sid)

    def open(self, eio_sid: str, ip: str, now: float) -> SessionRefusal | None:
        """Count a new session from ``ip``, pending; a refusal (nothing counted) when over a
        limit."""
        if self._ips[ip] >= self.per_ip:
            return SessionRefusal(
                "too_many_connections", f"at most {self.per_ip} connections per client address"
            )
        if len(self._ip_of) >= self.max_sessions:
            return SessionRefusal("too_many_connections", "this gateway is full; try another")
        if len(self._deadline) >= self.max_pending:
            return SessionRefusal(
                "too_many_pending", "too many connections waiting to authenticate; retry shortly"
            )
        self._ip_of[eio_sid] = ip
        self._ips[ip] += 1
        self._deadline[eio_sid] = now + self.auth_timeout_s
        return None

    def authenticated(self, eio_sid: str) -> None:
        """Its Socket.IO connection was admitted: no deadline any more."""
        self._deadline.pop(eio_sid, None)

    def unauthenticated(self, eio_sid: str, now: float) -> None:
        """Its Socket.IO connection ended but the session stays open (a client that left
        the namespace, or one the token sweep ended): pending again, a fresh deadline."""
        if eio_sid in self._ip_of and eio_sid not in self._deadline:
            self._deadline[eio_sid] = now + self.auth_timeout_s

    def close(self, eio_sid: str) -> None:
        """The session ended (whatever the cause); forgetting an unknown one is no error."""
        self._deadline.pop(eio_sid, None)
        ip = self._ip_of.pop(eio_sid, None)
        if ip is not None:
            self._ips[ip] -= 1
            if self._ips[ip] <= 0:
                del self._ips[ip]

    def overdue(self, now: float) -> list[str]:
        """Pending sessions past their deadline, oldest first (still counted until closed)."""
        due: list[str] = []
        for eio_sid, deadline in self._deadline.items():
            if deadline > now:
                break
            due.append(eio_sid)
        return due

    def forget_missing(self, alive: set[str] | dict[str, object]) -> int:
        """Drop the sessions Engine.IO no longer holds (a close whose event never came); how
        many. A safety net: a leaked entry would hold an address's place for ever."""
        gone = [sid for sid in self._ip_of if sid not in alive]
        for sid in gone:
            self.close(sid)
        return len(gone)
