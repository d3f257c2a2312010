"""A patch of kombu 5.7.0: a Redis channel closes even when its pending BRPOP died with Redis.

Without it, the Celery worker (celery 5.7.0) dies when Redis goes away while it holds a
batch — a Redis crash or restart under load ends in ``Unrecoverable error:
AttributeError("'NoneType' object has no attribute 'hostname'")``. On the lost connection
Celery collects the broker connection, then closes it
(``Consumer.on_connection_error_after_connected``):

1. ``Connection.collect()`` closes the default channel (the task consumer's). Its
   ``Channel.close()`` first reads the reply of the BRPOP it has in flight; that read fails
   with the connection, and ``close()`` raises before closing anything.
2. The transport then closes its other channels; the remote-control channel fails too (its
   auto-delete fanout queue cannot be deleted), which ends the loop, and ``collect()``
   detaches the transport (``transport.client = None``).
3. Celery's ``connection.close()`` closes the default channel again. It now gets past the
   BRPOP, restores its unacknowledged batch through a new pool built from
   ``transport.client.hostname``, and raises the ``AttributeError``, which is not a
   connection error, so it ends the worker.

kombu's fix in spirit: a BRPOP reply lost with the connection is nothing to wait for, so
``close()`` carries on. :func:`apply` wraps ``Channel.close`` to read that reply first and
ignore a connection error; the channel is then closed in step 1, its unacknowledged batch
stays in the broker's ``unacked`` hash (restored after the visibility timeout), and step 3
finds nothing to do. Everything else ``close()`` does is kombu's own.

``tests/integration/worker_enricher/test_broker_restart.py`` runs Celery's own teardown
against a killed Redis, with and without this patch.
"""

from __future__ import annotations

from collections.abc import Callable
from queue import Empty
from typing import Any

from kombu.transport import redis as kombu_redis

ORIGINAL_CLOSE: Callable[[Any], None] = kombu_redis.Channel.close
"""kombu's ``Channel.close``, which the patched one calls."""


def _close(self: Any) -> None:
    if self._in_poll:  # a BRPOP is in flight: take its reply, or learn the connection is gone
        try:
            self._brpop_read()  # delivers a message that arrived, as kombu's close() does
        except Empty:
            pass
        except self.connection_errors:
            pass  # the reply died with the connection: nothing to read, close the rest
    ORIGINAL_CLOSE(self)


def apply() -> None:
    """Install the patch (idempotent)."""
    kombu_redis.Channel.close = _close  # type: ignore[method-assign]


def applied() -> bool:
    return kombu_redis.Channel.close is _close
