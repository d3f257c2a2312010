"""``make up``'s process set: what each HTTP service gets in its environment."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from common import devstack
from common.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "PROXY_HOPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(devstack, "gateway_processes", lambda: 3)  # as on 2 cores
    return replace(load_settings(), var_dir=tmp_path)


def test_each_service_gets_its_name_processes_threads_and_metrics_dir(
    settings: Settings, tmp_path: Path
) -> None:
    got = {package: devstack.service_env(settings, package) for package in devstack.SERVICES}
    assert {p: (e["WEB_CONCURRENCY"], e["GUNICORN_THREADS"]) for p, e in got.items()} == {
        "auth_service": ("2", "8"),
        "storage_service": ("2", "8"),
        "analytics_service": ("2", "8"),
        "logging_service": ("1", "8"),  # one consumer of the log stream
        "alert_service": ("2", "8"),
        "paper_service": ("2", "8"),
        "api_gateway": ("3", "32"),
    }
    for package, env in got.items():
        assert env["SERVICE_NAME"] == package
        assert env["PROXY_HOPS"] == ("0" if package == "api_gateway" else "1")
        assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path.resolve() / "prometheus" / package)
        assert Path(env["PROMETHEUS_MULTIPROC_DIR"]).is_dir()


def test_web_settings_given_apply_to_every_service(settings: Settings) -> None:
    given = replace(settings, web=replace(settings.web, workers=4, threads=16))
    for package in devstack.SERVICES:
        env = devstack.service_env(given, package)
        assert (env["WEB_CONCURRENCY"], env["GUNICORN_THREADS"]) == ("4", "16")


def test_services_bind_the_ports_of_the_settings(settings: Settings) -> None:
    http = replace(settings.http, auth_port=9101, gateway_port=9100)
    commands = devstack.processes(replace(settings, http=http))
    assert commands["auth"][commands["auth"].index("--bind") + 1] == "127.0.0.1:9101"
    assert commands["api_gateway"][commands["api_gateway"].index("--bind") + 1] == (
        "127.0.0.1:9100"
    )


def test_the_deribit_simulator_runs_only_with_deribit_sim(settings: Settings) -> None:
    assert "deribit-sim" not in devstack.processes(settings)  # default: synthetic alone
    venues = replace(settings.venues, venues=("synthetic", "deribit-sim"), deribit_sim_port=9010)
    commands = devstack.processes(replace(settings, venues=venues))
    sim = commands["deribit-sim"]
    assert sim[1:] == ["-m", "feed_generator.venues.deribit.sim", "--port", "9010"]
    assert commands["feed"][1:] == ["-m", "feed_generator"]  # reads FEED_VENUES itself


def test_the_spot_simulators_run_only_when_named(settings: Settings) -> None:
    assert not {"binance-sim", "coinbase-sim"} & set(devstack.processes(settings))
    spot = replace(settings.venues.spot, binance_sim_port=9012, coinbase_sim_port=9013)
    venues = replace(settings.venues, venues=("binance-sim", "coinbase-sim"), spot=spot)
    commands = devstack.processes(replace(settings, venues=venues))
    module = "feed_generator.venues.spot.sim"
    assert commands["binance-sim"][1:] == ["-m", module, "--venue", "binance", "--port", "9012"]
    assert commands["coinbase-sim"][1:] == ["-m", module, "--venue", "coinbase", "--port", "9013"]


def test_webhooks_have_a_thread_pool_worker_of_their_own(settings: Settings) -> None:
    """Enrichment's worker takes ``enrich`` only; a second worker, threads, takes ``alerts``
    under its own node name (two ``celery@host`` would clash)."""
    commands = devstack.processes(settings)

    def option(argv: list[str], name: str) -> str:
        return argv[argv.index(name) + 1]

    worker, alerts = commands["worker"], commands["alerts-worker"]
    assert alerts[1:6] == ["-m", "celery", "-A", "worker_enricher.celery_app", "worker"]
    assert option(alerts, "--queues") == "alerts"
    assert (option(alerts, "--pool"), option(alerts, "--concurrency")) == ("threads", "8")
    assert option(alerts, "--hostname") == "alerts@%h"
    assert option(worker, "--queues") == "enrich"
    assert "--hostname" not in worker  # celery@%h


def test_the_embedded_redis_persists_in_var_and_is_stopped_last(settings: Settings) -> None:
    data_dir = devstack.redis_data_dir(settings)
    assert data_dir == settings.var_dir.resolve() / "redis"
    program = devstack.redis_program(6400, data_dir)
    argv = list(program.argv)
    assert argv[0].endswith("redis-server")

    def option(name: str) -> str:
        return argv[argv.index(name) + 1]

    assert (option("--port"), option("--bind")) == ("6400", "127.0.0.1")
    assert (option("--appendonly"), option("--appendfsync")) == ("yes", "everysec")
    assert (option("--dir"), option("--save")) == (str(data_dir), "")
    assert program.stop_last
    assert program.ready is not None


def test_every_process_gets_the_redis_url_and_its_own_extras(settings: Settings) -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:6400/0", "PATH": "/usr/bin"}
    programs = {p.name: p for p in devstack.programs(settings, env)}
    assert set(programs) == set(devstack.processes(settings))
    for program in programs.values():
        assert program.env is not None
        assert program.env["REDIS_URL"] == env["REDIS_URL"]
        assert not program.stop_last
        assert program.ready is None
    assert programs["api_gateway"].env is not None
    assert programs["api_gateway"].env["SERVICE_NAME"] == "api_gateway"
    assert programs["worker"].env is not None
    assert "SERVICE_NAME" not in programs["worker"].env
