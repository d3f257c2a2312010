"""A bound on how long a prefork child waits, when it exits, for its last result to be read.

Seen with celery 5.7.0 and billiard 4.3.2 (about 1 stop in 7 of ``make up``'s, in the e2e
Ctrl-C test): the main process's warm shutdown closes the pool, joins its result handler
and then joins each child, with nothing reading the children's result pipes any more. A
child that finished a task in between waits in ``Worker._ensure_messages_consumed`` for
the main process to count that result — 300 × 0.1 s, 30 s — before it exits; the
supervisor's 10 s stop timeout then kills the worker (``worker stopped (rc=-9)``).

Nothing needs the child to wait that long: the main process never acknowledged the task
whose result it did not read, so kombu restores it to the queue when the channel closes
(or after the visibility timeout), and it runs again, which every task allows (their
writes are idempotent: docs/PIPELINE.md). :func:`apply` lowers the wait to
:data:`WAIT_S`, ample for a main process that is still reading (it reads within
milliseconds), before the children are forked.
"""

from __future__ import annotations

from billiard import pool

WAIT_S = 2.0
"""Seconds a child waits for its results to be read before it exits anyway."""


def apply() -> None:
    """Bound the wait (idempotent; the children inherit it when they are forked)."""
    pool.GUARANTEE_MESSAGE_CONSUMPTION_RETRY_LIMIT = round(
        WAIT_S / pool.GUARANTEE_MESSAGE_CONSUMPTION_RETRY_INTERVAL
    )


def bound_s() -> float:
    """The wait in force, in seconds."""
    return float(
        pool.GUARANTEE_MESSAGE_CONSUMPTION_RETRY_LIMIT
        * pool.GUARANTEE_MESSAGE_CONSUMPTION_RETRY_INTERVAL
    )
