"""The one-machine process set behind ``make up``.

Runs an embedded Redis (unless ``REDIS_URL`` is set), persisted in ``var/redis``
(append-only file, fsynced every second) and locked by a password generated into
``var/secrets/redis_password``, then every OptionsFlow process with its URL (the password
in it) and the service credential (``SERVICE_TOKEN``, generated into
``var/secrets/service_token`` unless set) in their environment, under
:class:`common.supervisor.Supervisor`: their output is merged into one terminal with a
name per line, a process that dies (Redis too) is
started again after a capped exponential backoff, and ``Ctrl-C`` (or SIGTERM) stops
them all, then Redis (docs/RELIABILITY.md).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

from common.embedded_redis import (
    EmbeddedRedisError,
    find_redis_server,
    free_port,
    lock_data_dir,
    ping,
    server_argv,
    write_auth_config,
)
from common.jsonlog import configure_logging
from common.metricfiles import MULTIPROC_ENV, clear_stale
from common.names import ALERT_QUEUE, ENRICH_QUEUE
from common.secretfile import generated_secret, secrets_dir
from common.settings import DEFAULT_WEB_THREADS, Settings, SettingsError, load_settings
from common.supervisor import Program, Supervisor

log = logging.getLogger(__name__)


SERVICES = (
    "auth_service", "storage_service", "analytics_service", "logging_service", "alert_service",
    "paper_service", "api_gateway",
)  # fmt: skip
"""The HTTP services, each served by gunicorn on its port from the settings."""

GATEWAY_THREADS = 32
"""The gateway's gunicorn threads per process unless ``GUNICORN_THREADS`` says otherwise: its
requests mostly wait on Redis and the services (docs/PERFORMANCE.md)."""


def service_port(settings: Settings, package: str) -> int:
    http = settings.http
    return {
        "auth_service": http.auth_port,
        "storage_service": http.storage_port,
        "analytics_service": http.analytics_port,
        "logging_service": http.logging_port,
        "alert_service": http.alert_port,
        "paper_service": http.paper_port,
        "api_gateway": http.gateway_port,
    }[package]


def gateway_processes() -> int:
    """The gateway's gunicorn processes: one per usable core (8 at most) and one more.

    Its threads spend part of each request waiting on Redis; with a process per
    core only, p99 at 1,000 requests/s on 2 cores was 22–34 ms, with one more
    13–16 ms (docs/PERFORMANCE.md). A container's CPU quota is not read: set
    ``WEB_CONCURRENCY`` there."""
    return min(len(os.sched_getaffinity(0)), 8) + 1  # the cores this process may use


def service_env(settings: Settings, package: str) -> dict[str, str]:
    """What differs per service: its name, trusted proxies, processes and threads, metrics dir.

    ``WEB_CONCURRENCY`` and ``GUNICORN_THREADS``, when set, apply to every service."""
    gateway = package == "api_gateway"
    workers = gateway_processes() if gateway else 1 if package == "logging_service" else 2
    threads = GATEWAY_THREADS if gateway else DEFAULT_WEB_THREADS
    metrics_dir = settings.var_dir.resolve() / "prometheus" / package
    clear_stale(metrics_dir)
    return {
        "SERVICE_NAME": package,
        "PROXY_HOPS": str(settings.http.proxy_hops) if gateway else "1",  # behind the gateway
        "GUNICORN_THREADS": str(settings.web.threads or threads),
        "WEB_CONCURRENCY": str(settings.web.workers or workers),
        MULTIPROC_ENV: str(metrics_dir),
    }


def processes(settings: Settings) -> dict[str, list[str]]:
    """Name → command of every process the system runs on one machine."""
    python = sys.executable
    services = {
        package.replace("_service", ""): [
            python, "-m", "gunicorn", "-c", "python:common.gunicorn_conf",
            "--bind", f"127.0.0.1:{service_port(settings, package)}", f"{package}.wsgi:app",
        ]
        for package in SERVICES
    }  # fmt: skip
    sims = _simulator(settings) | _kite_simulator(settings) | _spot_simulators(settings)
    return services | sims | {
        "socket": [python, "-m", "socket_gateway", "--port", str(settings.http.socket_port)],
        "feed": [python, "-m", "feed_generator"],
        "subscriber": [python, "-m", "worker_enricher.subscriber"],
        # -E: task events, which Flower shows (with the worker's event heartbeats)
        "worker": [
            python, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
            "--queues", ENRICH_QUEUE, "--concurrency", "2", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "-E",
        ],
        # Webhooks wait on other people's servers: threads, on a queue of their own, so a
        # slow receiver never holds up enrichment (worker_enricher/tasks/alerts.py).
        "alerts-worker": [
            python, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
            "--queues", ALERT_QUEUE, "--pool", "threads", "--concurrency", "8",
            "--hostname", "alerts@%h", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "-E",
        ],
        "flower": [
            python, "-m", "worker_enricher.flower", "--address=127.0.0.1",
            f"--port={settings.observability.flower_port}",
        ],
    }  # fmt: skip


def _simulator(settings: Settings) -> dict[str, list[str]]:
    """The local Deribit simulator when ``FEED_VENUES`` names ``deribit-sim``; the feed
    reads the same ``DERIBIT_SIM_PORT`` and connects to it (and reconnects until it is up)."""
    if "deribit-sim" not in settings.venues.venues:
        return {}
    port = str(settings.venues.deribit_sim_port)
    return {
        "deribit-sim": [sys.executable, "-m", "feed_generator.venues.deribit.sim", "--port", port]
    }


def _spot_simulators(settings: Settings) -> dict[str, list[str]]:
    """The local Binance / Coinbase simulators when ``FEED_VENUES`` names ``binance-sim`` /
    ``coinbase-sim``, on ``BINANCE_SIM_PORT`` / ``COINBASE_SIM_PORT``."""
    spot = settings.venues.spot
    ports = {"binance": spot.binance_sim_port, "coinbase": spot.coinbase_sim_port}
    module = "feed_generator.venues.spot.sim"
    return {
        f"{venue}-sim": [sys.executable, "-m", module, "--venue", venue, "--port", str(port)]
        for venue, port in ports.items()
        if f"{venue}-sim" in settings.venues.venues
    }


def _kite_simulator(settings: Settings) -> dict[str, list[str]]:
    """The local Kite simulator when ``FEED_VENUES`` names ``kite-sim``, on ``KITE_SIM_PORT``."""
    if "kite-sim" not in settings.venues.venues:
        return {}
    port = str(settings.venues.kite.sim_port)
    return {"kite-sim": [sys.executable, "-m", "feed_generator.venues.kite.sim", "--port", port]}


def redis_data_dir(settings: Settings) -> Path:
    """Where the embedded Redis keeps its append-only file across runs of ``make up``."""
    return settings.var_dir.resolve() / "redis"


def redis_program(port: int, data_dir: Path, password: str | None = None) -> Program:
    """The embedded Redis on 127.0.0.1:``port``, persisted in ``data_dir``: started first
    (the rest wait until it answers), restarted on the same port and files if it dies,
    stopped last. With ``password`` it refuses clients that do not authenticate."""
    config = write_auth_config(data_dir, password) if password else None
    argv = server_argv(find_redis_server(), port, data_dir, persist=True, config=config)
    ready = functools.partial(ping, port, password)
    return Program("redis", argv, ready=ready, stop_last=True)


def redis_password(settings: Settings) -> str:
    """The embedded Redis's password, generated on the first ``make up`` (mode 0600)."""
    return generated_secret(secrets_dir(settings.var_dir) / "redis_password")


def service_token(settings: Settings) -> str:
    """``SERVICE_TOKEN`` when set, else the one generated on the first ``make up``."""
    given = settings.trust.service_token
    return given or generated_secret(secrets_dir(settings.var_dir) / "service_token")


def programs(settings: Settings, env: dict[str, str]) -> list[Program]:
    """Every OptionsFlow process, each with ``env`` (the Redis URL in it) and its own extras."""
    packages = {p.replace("_service", ""): p for p in SERVICES}
    return [
        Program(
            name,
            command,
            env={**env, **(service_env(settings, packages[name]) if name in packages else {})},
        )
        for name, command in processes(settings).items()
    ]


def run(settings: Settings) -> int:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    http = settings.http
    url = settings.redis_url
    redis: list[Program] = []
    lock = None
    if url is None:
        data_dir = redis_data_dir(settings)
        lock = lock_data_dir(data_dir)  # one make up per var/: two servers on one file lose it
        port = free_port()
        password = redis_password(settings)
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        redis.append(redis_program(port, data_dir, password))
        log.info(
            "embedded redis",
            extra={
                "redis_url": f"redis://127.0.0.1:{port}/0",  # the password is not for the log
                "redis_password_file": str(secrets_dir(settings.var_dir) / "redis_password"),
                "data_dir": str(data_dir),
            },
        )
    # Each child reads its settings from this environment: the service URLs follow the ports;
    # the internal services answer only callers presenting SERVICE_TOKEN (the gateways).
    env = {**os.environ, "REDIS_URL": url, "PYTHONUNBUFFERED": "1"}
    if settings.trust.service_token is None:
        env["SERVICE_TOKEN"] = service_token(settings)
    log.info("dashboard", extra={"url": f"http://127.0.0.1:{http.gateway_port}/"})
    log.info("api gateway", extra={"url": f"http://127.0.0.1:{http.gateway_port}/api/docs"})
    log.info("logs (admins)", extra={"url": f"http://127.0.0.1:{http.gateway_port}/api/logs"})
    log.info("flower", extra={"url": f"http://127.0.0.1:{settings.observability.flower_port}/"})
    try:
        return Supervisor([*redis, *programs(settings, env)]).run()
    finally:
        if lock is not None:
            lock.close()


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
