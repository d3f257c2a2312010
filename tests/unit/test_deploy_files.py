"""The deployment files agree with the code: metric names, ports, packages, versions.

Offline and without Docker or Helm (scripts/check_deploy.sh runs those tools): the alert
rules and the Grafana dashboard may only name metrics the code defines; Prometheus scrapes,
docker-compose binds and the chart's catalogue use the ports of ``common.settings``; compose
runs every package pyproject installs; the image installs exactly pyproject's pins.
"""

from __future__ import annotations

import ast
import json
import os
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "ops/prometheus/alerts.yml"
PROMETHEUS = ROOT / "ops/prometheus/prometheus.yml"
DASHBOARD = ROOT / "ops/grafana/dashboards/optionsflow.json"
COMPOSE = ROOT / "docker-compose.yml"
CHART = ROOT / "helm/optionsflow"
LOCK = ROOT / "ops/requirements.lock"

METRIC_TYPES = {
    "Counter": "Counter",
    "Gauge": "Gauge",
    "Histogram": "Histogram",
    "Summary": "Summary",
    # Custom collectors (worker_enricher.metrics_server) build their families directly.
    "CounterMetricFamily": "Counter",
    "GaugeMetricFamily": "Gauge",
    "HistogramMetricFamily": "Histogram",
    "SummaryMetricFamily": "Summary",
}
METRIC_REF = re.compile(r"\boptionsflow_[a-z0-9_]+\b")
ENTRY_POINTS = ("__main__.py", "wsgi.py", "celery_app.py")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _packages() -> list[Path]:
    include = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    return [ROOT / pattern.rstrip("*") for pattern in include]


def exposed_metric_names() -> dict[str, str]:
    """Every ``optionsflow_*`` series name the code exposes → the metric's type.

    Found by parsing the packages for ``Counter("optionsflow_…", …)`` and the like: a
    counter is exposed as ``…_total``; a histogram as ``…_bucket``, ``…_count``, ``…_sum``.
    """
    names: dict[str, str] = {}
    for package in _packages():
        for source in package.rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                kind = METRIC_TYPES.get(called)
                first = node.args[0]
                if kind is None or not isinstance(first, ast.Constant):
                    continue
                if not (isinstance(first.value, str) and first.value.startswith("optionsflow_")):
                    continue
                name = first.value
                if kind == "Counter":
                    series = [name.removesuffix("_total") + "_total"]
                elif kind == "Histogram":
                    series = [name + suffix for suffix in ("_bucket", "_count", "_sum")]
                elif kind == "Summary":
                    series = [name, name + "_count", name + "_sum"]
                else:
                    series = [name]
                names.update(dict.fromkeys(series, kind))
    return names


def _alert_rules() -> list[dict[str, Any]]:
    return [rule for group in _yaml(ALERTS)["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def _compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _yaml(COMPOSE)["services"]
    return services


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", [])
    return command if isinstance(command, str) else " ".join(command)


def _chart_catalog() -> dict[str, dict[str, Any]]:
    """The component catalogue in the chart's _helpers.tpl (a YAML block)."""
    text = (CHART / "templates/_helpers.tpl").read_text(encoding="utf-8")
    body = re.search(r'define "optionsflow\.catalog" -}}\n(.*?)\{\{- end }}', text, re.S)
    assert body, "optionsflow.catalog not found in _helpers.tpl"
    catalog: dict[str, dict[str, Any]] = yaml.safe_load(body.group(1))
    return catalog


@pytest.fixture
def default_ports(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Package → its port in ``common.settings`` with nothing set in the environment."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    http = load_settings().http
    return {
        "api_gateway": http.gateway_port,
        "auth_service": http.auth_port,
        "socket_gateway": http.socket_port,
        "storage_service": http.storage_port,
        "analytics_service": http.analytics_port,
        "logging_service": http.logging_port,
        "alert_service": http.alert_port,
        "paper_service": http.paper_port,
    }


def test_the_scanner_finds_the_metrics_of_the_code() -> None:
    names = exposed_metric_names()
    assert names["optionsflow_http_request_duration_seconds_bucket"] == "Histogram"
    assert names["optionsflow_deadletter_total"] == "Counter"
    assert names["optionsflow_enrich_queue_depth"] == "Gauge"


@pytest.mark.parametrize(
    ("source", "exprs"),
    [
        ("ops/prometheus/alerts.yml", lambda: [r["expr"] for r in _alert_rules()]),
        ("ops/grafana/dashboards/optionsflow.json", _dashboard_exprs),
    ],
)
def test_every_optionsflow_metric_referenced_exists_in_the_code(source: str, exprs: Any) -> None:
    exposed = exposed_metric_names()
    referenced = {name for expr in exprs() for name in METRIC_REF.findall(expr)}
    assert referenced, f"{source} names no optionsflow_* metric"
    missing = sorted(referenced - exposed.keys())
    assert not missing, f"{source} uses series no code defines: {missing}"


def test_every_alert_has_a_duration_severity_and_text() -> None:
    rules = _alert_rules()
    assert len({r["alert"] for r in rules}) == len(rules), "alert names repeat"
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_scrape_targets_use_the_ports_of_the_settings_compose_and_chart(
    default_ports: dict[str, int],
) -> None:
    services = _compose_services()
    catalog = {c["job"]: c for c in _chart_catalog().values()}
    # The metrics ports of worker, subscriber and feed are off by default: compose sets them.
    env_ports = {
        "worker": "WORKER_METRICS_PORT",
        "subscriber": "SUBSCRIBER_METRICS_PORT",
        "feed": "FEED_METRICS_PORT",
    }
    jobs = {job["job_name"]: job for job in _yaml(PROMETHEUS)["scrape_configs"]}
    for name, package in [(p, p) for p in default_ports] + [(j, None) for j in env_ports]:
        job = jobs[name]
        if "dns_sd_configs" in job:
            targets = [f"{n}:{c['port']}" for c in job["dns_sd_configs"] for n in c["names"]]
        else:
            targets = [t for c in job["static_configs"] for t in c["targets"]]
        assert len(targets) == 1, f"{name}: one target expected, got {targets}"
        host, port = targets[0].rsplit(":", 1)
        service = services[host]
        if package is not None:
            expected = default_ports[package]
            assert f"0.0.0.0:{expected}" in _command(service) or (
                f"--port {expected}" in _command(service)
            ), f"compose {host} does not listen on {expected}"
        else:
            expected = int(service["environment"][env_ports[name]])
        assert int(port) == expected, f"prometheus job {name} scrapes {port}, not {expected}"
        assert catalog[name]["port"] == expected, f"chart catalogue: {name} port"


def test_compose_runs_every_package(default_ports: dict[str, int]) -> None:
    """Every installed package with a process of its own (pyproject's package list) has a
    compose service running it, on its port from the settings."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [p.rstrip("*") for p in included]
    runnable = [
        name
        for name in packages
        if name in default_ports or any(any((ROOT / name).rglob(e)) for e in ENTRY_POINTS)
    ]
    assert {"api_gateway", "worker_enricher", "logging_service", "feed_generator"} <= set(runnable)
    commands = [_command(s) for s in _compose_services().values()]
    for name in runnable:
        running = [c for c in commands if re.search(rf"(-m |\b){name}(\.|\b)", c)]
        assert running, f"no docker-compose service runs {name}"
        if name in default_ports:
            port = str(default_ports[name])
            assert any(port in c for c in running), f"compose: {name} not on port {port}"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "npm run build" in dockerfile
    assert "dashboard/dist" in dockerfile


def test_the_worker_scales_with_compose() -> None:
    worker = _compose_services()["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    jobs = {job["job_name"]: job for job in _yaml(PROMETHEUS)["scrape_configs"]}
    assert jobs["worker"]["dns_sd_configs"][0]["type"] == "A"


def test_the_image_installs_exactly_the_pinned_dependencies() -> None:
    def key(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    locked = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            locked[key(name)] = version
    for requirement in _pyproject()["project"]["dependencies"]:
        name, version = requirement.split("==")
        assert locked.get(key(name)) == version, f"{LOCK.name}: {name} is not =={version}"


def test_the_chart_follows_the_project() -> None:
    chart = _yaml(CHART / "Chart.yaml")
    assert chart["appVersion"] == _pyproject()["project"]["version"]
    assert (CHART / "files/alerts.yml").resolve() == ALERTS.resolve()
    assert (CHART / "files/optionsflow.json").resolve() == DASHBOARD.resolve()
    secrets = _yaml(CHART / "values.yaml")["secrets"]
    assert all(value == "" for value in secrets.values()), "values.yaml must hold no secret"


OPTIONSFLOW_IMAGE = "${OPTIONSFLOW_IMAGE"
"""How compose names the project's image: every service running OptionsFlow code uses it."""
PUBLISHED = {"gateway", "socket"}
"""Issue 16: the only compose services with host ports by default."""


def _ours() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _compose_services().items()
        if str(service.get("image", "")).startswith(OPTIONSFLOW_IMAGE)
    }


def test_compose_publishes_the_two_gateways_and_nothing_else() -> None:
    """Redis, MongoDB, logging_service, Flower, Prometheus, Grafana, the exporter and every
    metrics port stay on the compose network (an override file may publish them)."""
    services = _compose_services()
    published = {
        name for name, s in services.items() if (s.get("ports") or s.get("expose") is not None)
    }
    assert published == PUBLISHED
    for name in PUBLISHED:
        for mapping in services[name]["ports"]:
            assert str(mapping).startswith("${OPTIONSFLOW_BIND_ADDRESS:-127.0.0.1}:"), mapping
    assert not any(s.get("network_mode") == "host" for s in services.values())
    assert "ports" not in services["flower"]
    assert "ports" not in services["logging"]


def test_compose_takes_the_credentials_from_secrets() -> None:
    compose = _yaml(COMPOSE)
    secrets = compose["secrets"]
    assert set(secrets) == {"service_token", "redis_password", "flower_basic_auth"}
    for name, secret in secrets.items():
        assert secret == {"file": f"${{OPTIONSFLOW_SECRETS_DIR:-./secrets}}/{name}"}
    ours = _ours()
    running = {
        "gateway", "socket", "auth", "storage", "analytics", "alert", "paper", "logging", "worker",
    }  # fmt: skip
    assert running <= set(ours)
    for name, service in ours.items():
        env = service["environment"]
        assert env["SERVICE_TOKEN_FILE"] == "/run/secrets/service_token", name
        assert env["REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password", name
        assert {"service_token", "redis_password"} <= set(service["secrets"]), name
        assert not {"SERVICE_TOKEN", "REDIS_PASSWORD", "FLOWER_BASIC_AUTH"} & set(env), name
        assert "@" not in env["REDIS_URL"], name  # no password in the file
    services = compose["services"]
    redis = services["redis"]
    script = " ".join(redis["command"])
    # The password from the secret, on standard input ("-"): not in the server's argv.
    assert "exec redis-server - " in script
    assert "requirepass $$(cat /run/secrets/redis_password)" in script
    assert "--requirepass" not in script
    assert redis["secrets"] == ["redis_password"]
    assert "REDISCLI_AUTH=" in " ".join(redis["healthcheck"]["test"])
    exporter = services["redis-exporter"]
    assert exporter["secrets"] == ["redis_password"]
    assert 'REDIS_PASSWORD="$$(cat /run/secrets/redis_password)"' in " ".join(
        exporter["entrypoint"]
    )
    flower = services["flower"]
    assert "flower_basic_auth" in flower["secrets"]
    assert 'FLOWER_BASIC_AUTH="$$(cat /run/secrets/flower_basic_auth)"' in " ".join(
        flower["command"]
    )
    # The feed's health check reads the URL through the settings, password included.
    assert "load_settings().redis_url" in " ".join(services["feed"]["healthcheck"]["test"])


def _template(name: str) -> str:
    return (CHART / "templates" / name).read_text(encoding="utf-8")


def test_the_chart_takes_the_credentials_from_its_secret() -> None:
    secret = _template("secret.yaml")
    assert "service-token: {{ $token | quote }}" in secret
    # Given, or kept from the release's Secret, or generated: never absent.
    assert '$s.serviceToken | default (get $kept "service-token" | b64dec)' in secret
    assert '$s.redisPassword | default (get $kept "redis-password" | b64dec)' in secret
    helpers = _template("_helpers.tpl")
    env = re.search(r'define "optionsflow\.env" -}}(.*?)\{\{/\* -{10}', helpers, re.S)
    assert env, "optionsflow.env not found"
    assert '(list $root "SERVICE_TOKEN" "service-token" false)' in env.group(1)
    assert '(list $root "REDIS_PASSWORD" "redis-password" false)' in env.group(1)
    needs = re.search(
        r'has \$name \(list ((?:"\w+" ?)+)\) }}\n\{\{- /\* The internal', env.group(1)
    )
    assert needs, "SERVICE_TOKEN is not given per component"
    assert set(re.findall(r'"(\w+)"', needs.group(1))) == {
        "gateway", "socket", "auth", "storage", "analytics", "alert", "paper", "logging",
    }  # fmt: skip
    redis = _template("redis.yaml")
    assert "exec redis-server - " in redis
    assert "requirepass ${REDIS_PASSWORD}" in redis
    assert '"REDIS_PASSWORD" "redis-password" false' in redis
    assert "REDISCLI_AUTH" in redis
    assert '"REDIS_PASSWORD" "redis-password" false' in _template("redis-exporter.yaml")
    assert "os.environ['REDIS_URL']" not in helpers  # the feed probe needs the password too
    values = _yaml(CHART / "values.yaml")
    assert {"serviceToken", "redisPassword"} <= set(values["secrets"])


def test_the_chart_keeps_metrics_and_flower_inside_the_cluster() -> None:
    """Every Service is a ClusterIP; the ingress routes to the two gateways only; a
    NetworkPolicy lets only the gateways (and scrapeFrom, for /metrics) reach the services
    behind them, and only scrapeFrom reach Flower."""
    services = _template("services.yaml")
    assert "type: ClusterIP" in services
    assert "NodePort" not in services
    assert "LoadBalancer" not in services
    ingress = _template("ingress.yaml")
    assert set(re.findall(r'\(list \$ "(\w+)"\)', ingress)) <= PUBLISHED
    policy = _template("networkpolicy.yaml")
    assert (
        '{{- range $name := list "auth" "storage" "analytics" "alert" "paper" "logging" "flower" }}'
        in policy
    )
    assert '{{- range $caller := list "gateway" "socket" }}' in policy
    assert "$.Values.networkPolicy.scrapeFrom" in policy
    values = _yaml(CHART / "values.yaml")
    assert values["networkPolicy"]["enabled"] is True
    assert values["networkPolicy"]["scrapeFrom"], "Prometheus would be shut out"


def test_no_deployment_lets_any_origin_open_socket_io_connections() -> None:
    """Unset, SOCKET_CORS_ORIGINS means the dashboard's own origin (issue 16); compose and
    the chart used to fill in ``*`` when nobody chose."""
    compose = _compose_services()["socket"]["environment"]["SOCKET_CORS_ORIGINS"]
    assert compose == "${SOCKET_CORS_ORIGINS:-}"
    helpers = (CHART / "templates/_helpers.tpl").read_text(encoding="utf-8")
    start = helpers.index('{{- define "optionsflow.socketCorsOrigins" -}}')
    body = helpers[start : helpers.index("{{- end }}\n{{- end }}", start)]
    assert "*" not in body.replace("{{-", "").replace("-}}", "")


RAW_ENTRY_BYTES = 4_612 + 294 + 168
"""One entry of each raw stream (chain, quote, tick) as Redis keeps the synthetic feed's
messages (``MEMORY USAGE``, docs/PIPELINE.md "Bound and memory")."""


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text[:200]!r}"
    return found[1]


def _megabytes(text: str) -> int:
    number, unit = _first(r"^(\d+)(mb|gb)$", text.strip().lower()), text.strip()[-2:].lower()
    return int(number) * (1024 if unit == "gb" else 1)


def test_the_raw_streams_full_fit_redis_maxmemory_in_compose_and_the_chart() -> None:
    """With maxmemory and noeviction a full Redis refuses every write (the Celery queue's
    too): the three raw streams at their bound must take under half of it."""
    env = _yaml(COMPOSE)["x-common-env"]
    compose_bound = int(_first(r"^\$\{RAW_STREAM_MAXLEN:-(\d+)\}$", env["RAW_STREAM_MAXLEN"]))
    compose_memory = _first(r"--maxmemory (\S+)", _command(_compose_services()["redis"]))
    values = _yaml(CHART / "values.yaml")["redis"]
    configmap = (CHART / "templates/configmap.yaml").read_text(encoding="utf-8")
    assert "RAW_STREAM_MAXLEN: {{ .Values.redis.rawStreamMaxlen" in configmap
    pairs = [(compose_bound, compose_memory), (values["rawStreamMaxlen"], values["maxmemory"])]
    for bound, memory in pairs:
        assert 1_000 <= bound <= load_settings().pipeline.raw_stream_maxlen
        assert bound * RAW_ENTRY_BYTES < 0.5 * _megabytes(memory) * 2**20, (bound, memory)
