"""The one way raw market messages enter OptionsFlow: a stream entry and a Pub/Sub message each.

Every message is appended to the Redis Stream named like its channel
(``XADD market:option_chain MAXLEN ~ N * d <json>``), which the subscriber reads
through a consumer group, so nothing published while it is down or restarting
is lost; and it is published on that channel, for light consumers that only
want the live messages (keys and Pub/Sub channels are separate namespaces).

:func:`publish_raw` does both for a whole batch in one Lua script: one round
trip per batch, and atomic: no reader sees a message in the stream that was not
published, or the reverse. A Lua script beats ``MULTI``/``EXEC`` here
(``bench/rawfeed.py``, docs/PERFORMANCE.md): each payload crosses the socket
once, not twice, and one reply comes back instead of one per command.

A publisher in another language sends the same script (:data:`PUBLISH_RAW_LUA`,
``EVALSHA``/``EVAL``) or, per message, ``MULTI``, ``XADD <channel> MAXLEN ~ N * d
<json>``, ``PUBLISH <channel> <json>``, ``EXEC`` (docs/PIPELINE.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import redis
from redis.connection import AbstractConnection

from common.settings import DEFAULT_RAW_STREAM_MAXLEN

__all__ = ["DEFAULT_RAW_STREAM_MAXLEN", "PUBLISH_RAW_LUA", "RawMessage", "publish_raw"]

STREAM_FIELD = b"d"
"""The one field of a raw stream entry: the message's JSON bytes."""

PUBLISH_RAW_LUA = """
-- KEYS: the channels of the batch, each also the name of its stream.
-- ARGV[1]: MAXLEN; then, per message, the index of its channel in KEYS and its bytes.
local maxlen = ARGV[1]
local receivers = 0
for i = 2, #ARGV, 2 do
  local key = KEYS[tonumber(ARGV[i])]
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'd', ARGV[i + 1])
  receivers = receivers + redis.call('PUBLISH', key, ARGV[i + 1])
end
return receivers
"""
PUBLISH_RAW_SHA = hashlib.sha1(PUBLISH_RAW_LUA.encode()).hexdigest().encode()

RawMessage = tuple[str, bytes]
"""``(channel, message JSON)``."""


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(value), value)


def pack_publish_raw(messages: Sequence[RawMessage], maxlen: int, *, sha: bool = True) -> bytes:
    """The RESP bytes of one ``EVALSHA`` (or, with ``sha=False``, ``EVAL``) for ``messages``.

    Packed by hand in one join: redis-py's command packing costs several times more per
    argument, and a batch carries thousands.
    """
    index: dict[str, bytes] = {}
    keys: list[bytes] = []
    for channel, _ in messages:
        if channel not in index:
            index[channel] = b"%d" % (len(index) + 1)
            keys.append(_bulk(channel.encode()))
    head = [
        b"*%d\r\n" % (4 + len(keys) + 2 * len(messages)),
        _bulk(b"EVALSHA") if sha else _bulk(b"EVAL"),
        _bulk(PUBLISH_RAW_SHA) if sha else _bulk(PUBLISH_RAW_LUA.encode()),
        _bulk(b"%d" % len(keys)),
        *keys,
        _bulk(b"%d" % maxlen),
    ]
    body = b"".join([
        b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(i := index[c]), i, len(d), d) for c, d in messages
    ])  # fmt: skip
    return b"".join(head) + body


def _round_trip(conn: AbstractConnection, messages: Sequence[RawMessage], maxlen: int) -> int:
    conn.send_packed_command([pack_publish_raw(messages, maxlen)])  # type: ignore[no-untyped-call]
    try:
        return int(conn.read_response())
    except redis.exceptions.NoScriptError:  # a restarted or flushed Redis: EVAL caches it again
        conn.send_packed_command([pack_publish_raw(messages, maxlen, sha=False)])  # type: ignore[no-untyped-call]
        return int(conn.read_response())


def publish_raw(
    client: redis.Redis, messages: Sequence[RawMessage], *, maxlen: int = DEFAULT_RAW_STREAM_MAXLEN
) -> int:
    """Append each message to its channel's stream and publish it there, atomically, in one
    round trip; the number of Pub/Sub deliveries Redis reported.

    ``maxlen`` bounds each stream (``MAXLEN ~``: Redis trims whole nodes, so a stream may
    hold a little more). Raises :class:`redis.RedisError` when the script fails; messages
    before the failing command stay written (a script is not rolled back), so a caller
    that retries may write some twice (consumers tell repeats by ``seq``). The client's own
    retry policy applies, as it does to any command of it.
    """
    if not messages:
        return 0
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        return int(
            conn.retry.call_with_retry(
                lambda: _round_trip(conn, messages, maxlen),
                lambda _: conn.disconnect(),  # type: ignore[no-untyped-call]
            )
        )
    finally:
        pool.release(conn)
