"""How late a message is handled: the receipt time minus the message's own timestamp.

Every message carries ``timestamp``, set at its origin (the feed) in the wire
format ``2026-11-21T09:41:00.123Z``. Parsing one per message costs more than
the rest of the envelope check, but a second's messages share its date and
time: that part is parsed once, the milliseconds added to it. Pure logic.
"""

from __future__ import annotations

from common.timestamps import parse_ts

_WIRE_LENGTH = len("2026-11-21T09:41:00.123Z")


class OriginClock:
    """Seconds since 1970 of wire timestamps, remembering the last whole second parsed."""

    __slots__ = ("_epoch_s", "_prefix")

    def __init__(self) -> None:
        self._prefix = ""
        self._epoch_s = 0.0

    def epoch_s(self, timestamp: object) -> float | None:
        """``timestamp`` in seconds since 1970, or ``None`` if it is not in the wire format."""
        if (
            not isinstance(timestamp, str)
            or len(timestamp) != _WIRE_LENGTH
            or timestamp[19] != "."
            or timestamp[23] != "Z"
        ):
            return None
        millis = timestamp[20:23]
        if not (millis.isascii() and millis.isdigit()):
            return None
        prefix = timestamp[:19]
        if prefix != self._prefix:
            try:
                epoch_s = parse_ts(prefix + ".000Z").timestamp()
            except ValueError:
                return None
            self._prefix, self._epoch_s = prefix, epoch_s
        return self._epoch_s + int(millis) / 1000

    def lag_s(self, timestamp: object, received_s: float) -> float | None:
        """Seconds from ``timestamp`` to ``received_s`` (seconds since 1970), at least 0.

        A timestamp ahead of the receipt (clocks apart) counts as no lag; ``None``
        for a timestamp that is not in the wire format (the workers reject it).
        """
        origin = self.epoch_s(timestamp)
        return None if origin is None else max(0.0, received_s - origin)
