"""What a worker process holds: settings, a Redis client, the store and the Lua scripts.

Created on first use in each process (Celery forks its pool after import), so no
socket or SQLite handle is ever shared across a fork.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import redis

from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from store import Store, open_store
from worker_enricher.scripts import Scripts, register_scripts


@dataclass(frozen=True, slots=True)
class WorkerContext:
    settings: Settings
    redis: redis.Redis
    store: Store
    scripts: Scripts

    def close(self) -> None:
        self.redis.close()
        self.store.close()


def make_context(settings: Settings) -> WorkerContext:
    if settings.redis_url is None:
        raise SettingsError("REDIS_URL: the worker needs the Redis the subscriber publishes to")
    client = make_redis(settings.redis_url)
    return WorkerContext(
        settings=settings,
        redis=client,
        store=open_store(settings.store_url),
        scripts=register_scripts(client),
    )


_context: tuple[int, WorkerContext] | None = None


def get_context() -> WorkerContext:
    """This process's context, made from the environment's settings on first use."""
    global _context
    if _context is None or _context[0] != os.getpid():
        _context = (os.getpid(), make_context(load_settings()))
    return _context[1]


def set_context(context: WorkerContext | None) -> None:
    """Install ``context`` for this process (tests and tools that run tasks in-process)."""
    global _context
    _context = None if context is None else (os.getpid(), context)
