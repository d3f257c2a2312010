"""The workers' side of the Socket.IO message queue: ``common.queue_emitter.QueueEmitter``
(one class, shared with paper_service), kept importable here for the workers' callers."""

from __future__ import annotations

from common.queue_emitter import QueueEmitter

__all__ = ["QueueEmitter"]
