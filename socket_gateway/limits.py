"""Connections per client address and subscriptions per connection, in this instance."""

from __future__ import annotations

from collections import Counter

from socket_gateway.rooms import Subscription


class ConnectionLimits:
    """Book-keeping of one gateway instance (one eventlet hub: no locks needed)."""

    def __init__(self, *, per_ip: int, subscriptions: int) -> None:
        self.per_ip = per_ip
        self.max_subscriptions = subscriptions
        self._ips: Counter[str] = Counter()
        self._ip_of: dict[str, str] = {}
        self._subs: dict[str, set[Subscription]] = {}

    @property
    def connections(self) -> int:
        return len(self._ip_of)

    def admit(self, sid: str, ip: str) -> bool:
        """Count the connection ``sid`` from ``ip``; False (not counted) when over the limit."""
        if self._ips[ip] >= self.per_ip:
            return False
        self._ips[ip] += 1
        self._ip_of[sid] = ip
        self._subs[sid] = set()
        return True

    def release(self, sid: str) -> set[Subscription]:
        """Forget ``sid``; its subscriptions."""
        ip = self._ip_of.pop(sid, None)
        if ip is not None:
            self._ips[ip] -= 1
            if self._ips[ip] <= 0:
                del self._ips[ip]
        return self._subs.pop(sid, set())

    def subscriptions(self, sid: str) -> set[Subscription]:
        return self._subs.get(sid, set())

    def reserve(self, sid: str, sub: Subscription) -> bool:
        """Hold ``sub`` for the connection ``sid``; False when it is over its limit or gone
        (a subscribe still running when its connection closed)."""
        held = self._subs.get(sid)
        if held is None:
            return False
        if sub not in held and len(held) >= self.max_subscriptions:
            return False
        held.add(sub)
        return True

    def remove(self, sid: str, sub: Subscription) -> bool:
        held = self._subs.get(sid)
        if held is None or sub not in held:
            return False
        held.discard(sub)
        return True

    def held(self) -> set[Subscription]:
        """Every subscription held here, by any connection."""
        return {sub for subs in self._subs.values() for sub in subs}

    def rooms(self) -> set[str]:
        """The rooms the subscriptions held here need."""
        return {room for sub in self.held() for room in sub.rooms}

    def still_wanted(self, sid: str, room: str) -> bool:
        """Another subscription of ``sid`` still needs ``room`` (the shared underlying)."""
        return any(room in sub.rooms for sub in self._subs.get(sid, ()))
