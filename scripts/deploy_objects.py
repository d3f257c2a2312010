"""Checks of the deployment files that no schema tool covers, for scripts/check_deploy.sh.

``crds RENDERED.yaml...``: the custom resources the chart renders (KEDA ScaledObject and
TriggerAuthentication, prometheus-operator ServiceMonitor and PrometheusRule) are unknown
to kubernetes-validate; their structure and their references to the chart's own objects
are checked here, and any other kind the validator could not know fails.

``dashboard-rules DASHBOARD.json OUT.yml``: every PromQL query of the Grafana dashboard as a
recording rule, so that promtool parses them (Grafana's ``$__rate_interval`` → ``5m``).

Runs with the tools venv's Python (PyYAML comes with kubernetes-validate).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
ALERTS = Path("ops/prometheus/alerts.yml")


class CheckError(Exception):
    """A rendered object is wrong; the message says which and why."""


def _load(paths: list[str]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            docs.extend(d for d in yaml.safe_load_all(fh) if d)
    return docs


def _named(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _check_scaled_object(obj: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    name, spec = obj["metadata"]["name"], obj["spec"]
    target = spec["scaleTargetRef"]["name"]
    if target not in _named(docs, "Deployment"):
        raise CheckError(f"ScaledObject {name}: scaleTargetRef {target} is no rendered Deployment")
    hpas = _named(docs, "HorizontalPodAutoscaler")
    for hpa in hpas.values():
        if hpa["spec"]["scaleTargetRef"]["name"] == target:
            raise CheckError(f"ScaledObject {name}: {target} also has an HPA; KEDA makes its own")
    if not 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]:
        raise CheckError(f"ScaledObject {name}: replica bounds out of order")
    for trigger in spec["triggers"]:
        meta = trigger["metadata"]
        if any(not isinstance(v, str) for v in meta.values()):
            raise CheckError(f"ScaledObject {name}: trigger metadata values must be strings")
        expected = {"listName": "enrich", "databaseIndex": "1"}  # celery_config: queue, BROKER_DB
        if trigger["type"] != "redis" or any(meta.get(k) != v for k, v in expected.items()):
            raise CheckError(f"ScaledObject {name}: expected a redis trigger on {expected}")
        if not re.fullmatch(r"[^:/\s]+:\d+", meta.get("address", "")):
            raise CheckError(f"ScaledObject {name}: address must be host:port")
        auth = trigger.get("authenticationRef", {}).get("name")
        if auth is not None and auth not in _named(docs, "TriggerAuthentication"):
            raise CheckError(f"ScaledObject {name}: authenticationRef {auth} is not rendered")


def _check_trigger_auth(obj: dict[str, Any], _: list[dict[str, Any]]) -> None:
    refs = obj["spec"]["secretTargetRef"]
    if not refs or any(set(r) != {"parameter", "name", "key"} for r in refs):
        raise CheckError(f"TriggerAuthentication {obj['metadata']['name']}: bad secretTargetRef")


def _check_service_monitor(obj: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    name, spec = obj["metadata"]["name"], obj["spec"]
    wanted = spec["selector"]["matchLabels"]
    services = [
        s
        for s in _named(docs, "Service").values()
        if wanted.items() <= s["metadata"]["labels"].items()
        and spec["jobLabel"] in s["metadata"]["labels"]
    ]
    if not services:
        raise CheckError(f"ServiceMonitor {name}: selects no rendered Service")
    ports = {p["name"] for s in services for p in s["spec"]["ports"]}
    for endpoint in spec["endpoints"]:
        if endpoint["port"] not in ports:
            raise CheckError(f"ServiceMonitor {name}: no selected Service has port {endpoint}")
    unscraped = [
        s["metadata"]["name"]
        for s in services
        if not {p["name"] for p in s["spec"]["ports"]} & {e["port"] for e in spec["endpoints"]}
    ]
    if unscraped:
        raise CheckError(f"ServiceMonitor {name}: no endpoint scrapes {unscraped}")


def _check_prometheus_rule(obj: dict[str, Any], _: list[dict[str, Any]]) -> None:
    name = obj["metadata"]["name"]
    shipped = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    if obj["spec"]["groups"] != shipped:
        raise CheckError(f"PrometheusRule {name}: groups differ from {ALERTS}")
    for group in shipped:
        for rule in group["rules"]:
            missing = [k for k in ("alert", "expr", "for") if k not in rule]
            missing += [k for k in ("severity",) if k not in rule.get("labels", {})]
            missing += [
                k for k in ("summary", "description") if k not in rule.get("annotations", {})
            ]
            if missing:
                raise CheckError(f"{ALERTS}: rule {rule.get('alert')} lacks {missing}")


CHECKS = {
    "ScaledObject": _check_scaled_object,
    "TriggerAuthentication": _check_trigger_auth,
    "ServiceMonitor": _check_service_monitor,
    "PrometheusRule": _check_prometheus_rule,
}


def check_custom_resources(paths: list[str], known_kinds: set[str]) -> list[str]:
    """Check every custom resource in ``paths``; the names of those checked."""
    checked: list[str] = []
    for path in paths:
        docs = _load([path])
        for obj in docs:
            key = (obj["apiVersion"], obj["kind"])
            if key in CUSTOM_KINDS:
                CHECKS[obj["kind"]](obj, docs)
                checked.append(f"{obj['kind']}/{obj['metadata']['name']}")
            elif obj["kind"] not in known_kinds:
                raise CheckError(f"{path}: unexpected kind {key} (neither core nor checked here)")
    return checked


def dashboard_rules(dashboard: Path) -> dict[str, Any]:
    """The dashboard's queries as one group of recording rules."""
    board = json.loads(dashboard.read_text(encoding="utf-8"))
    rules = [
        {
            "record": f"dashboard:panel_{panel['id']}_{target['refId']}",
            "expr": target["expr"].replace("$__rate_interval", "5m"),
        }
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]
    if not rules:
        raise CheckError(f"{dashboard}: no queries")
    return {"groups": [{"name": "dashboard", "rules": rules}]}


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["crds"] and len(argv) > 1:
            core = {"ConfigMap", "Secret", "Service", "ServiceAccount", "Deployment",
                    "StatefulSet", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
                    "NetworkPolicy", "PersistentVolumeClaim"}  # fmt: skip
            checked = check_custom_resources(argv[1:], core)
            sys.stdout.write(f"custom resources OK: {', '.join(checked) or 'none'}\n")
        elif argv[:1] == ["dashboard-rules"] and len(argv) == 3:
            rules = dashboard_rules(Path(argv[1]))
            Path(argv[2]).write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
            sys.stdout.write(f"{len(rules['groups'][0]['rules'])} dashboard queries\n")
        else:
            sys.stderr.write(__doc__ or "")
            return 2
    except (CheckError, KeyError, TypeError) as exc:
        sys.stderr.write(f"deploy_objects: {type(exc).__name__}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
