"""A log line as the logging service files it: the original JSON text and the fields
it is queried by (time, service, level, trace id)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import orjson

UNKNOWN_SERVICE = "unknown"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    """The Redis Stream entry id (``<ms>-<n>``): unique, so a redelivered line is filed once."""
    time_us: int
    """Microseconds since the epoch: the line's own ``time``, else the entry id's."""
    service: str
    level: int
    """The ``logging`` number (INFO = 20); 0 when the line has none."""
    trace_id: str | None
    line: str
    """A JSON object: the service's line as written, or the wrapper of one that was not."""


def stream_id_us(entry_id: str) -> int:
    """The time a stream entry was added, in microseconds (its id's milliseconds)."""
    return int(entry_id.partition("-")[0]) * 1000


def parse(entry_id: str, line: str) -> Record:
    """File ``line`` (one JSON object, as every service writes) under its fields.

    A line that is not a JSON object is still kept, as the ``message`` of an
    object with the entry's time and the service ``unknown``: the archive loses
    nothing it was given, and every filed line is a JSON object.
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        time_us = stream_id_us(entry_id)
        wrapped = {
            "time": dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).isoformat(),
            "service": UNKNOWN_SERVICE,
            "message": line,
        }
        return Record(entry_id, time_us, UNKNOWN_SERVICE, 0, None, orjson.dumps(wrapped).decode())
    trace_id = obj.get("trace_id")
    return Record(
        id=entry_id,
        time_us=_time_us(obj.get("time")) or stream_id_us(entry_id),
        service=str(obj.get("service") or UNKNOWN_SERVICE),
        level=LEVELS.get(str(obj.get("level", "")).upper(), 0),
        trace_id=str(trace_id) if trace_id else None,
        line=line,
    )


def _time_us(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return to_us(when)


def to_us(when: dt.datetime) -> int:
    """Microseconds since the epoch, exactly (no float on the way)."""
    return (when - _EPOCH) // dt.timedelta(microseconds=1)
