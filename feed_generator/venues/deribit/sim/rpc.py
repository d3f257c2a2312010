"""The simulator's JSON-RPC frames: replies with the venue's timing fields, notifications."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec

_ENCODER = msgspec.json.Encoder()


class RpcError(Exception):
    """A JSON-RPC error reply: ``code`` and ``message``, as the venue sends them."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


HEARTBEAT_TEST = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'


def notification(channel: str, data: dict[str, Any]) -> str:
    """A ``subscription`` notification (compact JSON; msgspec: ~1 µs a ticker, json ~6)."""
    frame = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": channel, "data": data},
    }
    return _ENCODER.encode(frame).decode()


def reply(request_id: Any, *, result: Any = None, error: tuple[int, str] | None = None) -> str:
    """A reply envelope with the venue's timing fields (microseconds)."""
    now_us = int(time.time() * 1e6)
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        body["error"] = {"code": error[0], "message": error[1]}
    else:
        body["result"] = result
    body.update({"usIn": now_us, "usOut": now_us + 50, "usDiff": 50, "testnet": False})
    return json.dumps(body)


def rest_reply(result: Any = None, error: tuple[int, str] | None = None) -> str:
    return reply(None, result=result, error=error)
