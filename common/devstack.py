"""The one-machine process set behind ``make up``.

Starts an embedded Redis (unless ``REDIS_URL`` is set), then every OptionsFlow
process with that URL in its environment, under honcho: their output is
merged into one terminal with a name per line, and ``Ctrl-C`` (or SIGTERM)
stops them all, then Redis.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys

from honcho.manager import Manager

from common.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from common.jsonlog import configure_logging
from common.names import ENRICH_QUEUE
from common.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)


def processes() -> dict[str, list[str]]:
    """Name → command of every process the system runs on one machine."""
    python = sys.executable
    return {
        "feed": [python, "-m", "feed_generator"],
        "subscriber": [python, "-m", "worker_enricher.subscriber"],
        "worker": [
            python, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
            "--queues", ENRICH_QUEUE, "--concurrency", "2", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
    }  # fmt: skip


def run(settings: Settings) -> int:
    redis: EmbeddedRedis | None = None
    url = settings.redis_url
    if url is None:
        redis = EmbeddedRedis()
        url = redis.start()
        log.info("embedded redis started", extra={"redis_url": url})
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, REDIS_URL=url, PYTHONUNBUFFERED="1")
    manager = Manager()
    for name, command in processes().items():
        # exec: the child replaces honcho's shell, so it gets the SIGTERM and exits cleanly.
        manager.add_process(name, "exec " + shlex.join(command), env=env)
    try:
        manager.loop()
    finally:
        if redis is not None:
            redis.stop()
    return int(manager.returncode or 0)


def main() -> None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"optionsflow-up: {exc}\n")
        raise SystemExit(2) from None
    configure_logging("devstack", settings.log_level)
    try:
        raise SystemExit(run(settings))
    except EmbeddedRedisError as exc:
        sys.stderr.write(f"optionsflow-up: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
