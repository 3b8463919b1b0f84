"""The chart's operations parts: alert rules, dashboard ConfigMap, NetworkPolicies, KEDA autoscaling."""

from __future__ import annotations

import json
from typing import Any

import helm_python
import pytest

from tests.helm.rendering import CHART_DIR, Manifest, Release, read_values, render
from tests.operations.test_rules import ALERTS

OPERATIONS = read_values(CHART_DIR / "ci" / "operations-values.yaml")
DASHBOARD = CHART_DIR / "files" / "hookline-dashboard.json"
OFF_BY_DEFAULT = ("PrometheusRule", "NetworkPolicy", "ScaledObject")


@pytest.fixture(scope="module")
def operations(chart: helm_python.Chart) -> Release:
    """The chart rendered with ci/operations-values.yaml."""
    return render(chart, OPERATIONS)


def _pod_labels(release: Release) -> dict[str, dict[str, str]]:
    return {
        m.name: m.body["spec"]["template"]["metadata"]["labels"]
        for m in release.manifests
        if m.kind in ("Deployment", "Job")
    }


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for matchLabels and In/NotIn expressions."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"]) in expression["values"]
        if present != (expression["operator"] == "In"):
            return False
    return True


def _ports(release: Release, deployment: str) -> set[str]:
    body = release.get("Deployment", deployment).body
    containers = body["spec"]["template"]["spec"]["containers"]
    return {port["name"] for c in containers for port in c.get("ports", [])}


def test_operations_parts_are_off_by_default(default_release: Release) -> None:
    """Without values, no PrometheusRule, NetworkPolicy, ScaledObject or dashboard is rendered."""
    for kind in OFF_BY_DEFAULT:
        assert not default_release.of_kind(kind), kind
    assert all(m.name != "hookline-dashboard" for m in default_release.of_kind("ConfigMap"))


def test_prometheus_rule_carries_every_alert_and_the_selector_labels(operations: Release) -> None:
    """The PrometheusRule has the operator's labels and every alert with its runbook."""
    (rule,) = operations.of_kind("PrometheusRule")
    assert rule.body["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule.body["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = [r for g in rule.body["spec"]["groups"] for r in g["rules"]]
    assert {a["alert"] for a in alerts} == ALERTS
    for alert in alerts:
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}, alert["alert"]
        assert alert["annotations"]["runbook_url"].endswith("#" + alert["alert"].lower())
    silent = next(a for a in alerts if a["alert"] == "HooklineSourceSilent")
    assert 'source="colt"} > 3600' in silent["expr"]
    assert 'source="mitake-dlr"} > 600' in silent["expr"]
    assert "source!~" not in silent["expr"], "defaultSeconds 0 watches only the listed sources"


def test_dashboard_config_map_is_labelled_for_the_sidecar(operations: Release) -> None:
    """The dashboard ConfigMap has grafana_dashboard: "1" and holds files/hookline-dashboard.json unchanged."""
    config_map = operations.get("ConfigMap", "hookline-dashboard").body
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "hookline"}
    (content,) = config_map["data"].values()
    assert json.loads(content) == json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert json.loads(content)["uid"] == "hookline"


def test_network_policies_select_the_release_pods_on_their_declared_ports(
    operations: Release,
) -> None:
    """The server policy admits only the server pods' http port; the workers' policy admits only
    'metrics' on every other pod of the release (workers and the topics Job), and each names peers."""
    pods = _pod_labels(operations)
    server = operations.get("NetworkPolicy", "hookline-server").body["spec"]
    workers = operations.get("NetworkPolicy", "hookline-workers").body["spec"]
    assert [n for n, labels in pods.items() if _matches(server["podSelector"], labels)] == [
        "hookline-server"
    ]
    assert sorted(
        n for n, labels in pods.items() if _matches(workers["podSelector"], labels)
    ) == sorted(n for n in pods if n != "hookline-server")
    assert [p["port"] for p in server["ingress"][0]["ports"]] == ["http"]
    assert "http" in _ports(operations, "hookline-server")
    assert [p["port"] for p in workers["ingress"][0]["ports"]] == ["metrics"]
    for name in ("hookline-worker-sms", "hookline-worker-colt", "hookline-worker-reactor"):
        assert "metrics" in _ports(operations, name)
    assert len(server["ingress"][0]["from"]) == 2 and len(workers["ingress"][0]["from"]) == 1
    for spec in (server, workers):
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        dns, *rest = spec["egress"]
        assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
        assert rest == OPERATIONS["networkPolicy"]["egress"]["to"]


def test_network_policies_leave_egress_alone_unless_asked(chart: helm_python.Chart) -> None:
    """With egress.restrict off the policies restrict ingress only (Kafka, Redis and providers stay reachable)."""
    release = render(chart, {"networkPolicy": {"enabled": True}})
    policies = release.of_kind("NetworkPolicy")
    assert len(policies) == 2
    for policy in policies:
        assert policy.body["spec"]["policyTypes"] == ["Ingress"]
        assert "egress" not in policy.body["spec"]
        assert "from" not in policy.body["spec"]["ingress"][0]


def _scaled(release: Release, worker: str) -> Manifest:
    return release.get("ScaledObject", f"hookline-worker-{worker}")


def test_keda_scales_exactly_the_autoscaled_workers_on_their_lag(operations: Release) -> None:
    """A ScaledObject per autoscaled worker targets its Deployment, which leaves replicas to KEDA;
    the kafka trigger reads the worker's own consumer group, the prometheus one hookline's lag gauge."""
    assert sorted(m.name for m in operations.of_kind("ScaledObject")) == [
        "hookline-worker-colt",
        "hookline-worker-sms",
    ]
    deployments = {d.name: d.body["spec"] for d in operations.of_kind("Deployment")}
    for worker in ("sms", "colt"):
        spec = _scaled(operations, worker).body["spec"]
        target = spec["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", f"hookline-worker-{worker}")
        assert "replicas" not in deployments[target["name"]]
    assert deployments["hookline-worker-reactor"]["replicas"] == 1
    sms = _scaled(operations, "sms").body["spec"]
    assert (sms["minReplicaCount"], sms["maxReplicaCount"]) == (2, 24)
    (kafka,) = sms["triggers"]
    assert kafka["type"] == "kafka"
    # hookline's worker group id is "<topic_prefix>.worker.<service>" (worker/runtime.py).
    assert kafka["metadata"]["consumerGroup"] == "acme.worker.sms"
    assert kafka["metadata"]["bootstrapServers"] == "kafka-0.kafka:9093,kafka-1.kafka:9093"
    assert kafka["metadata"]["lagThreshold"] == "200"
    assert kafka["metadata"]["sasl"] == "scram_sha512"
    assert kafka["authenticationRef"] == {"name": "kafka-sasl"}
    (prometheus,) = _scaled(operations, "colt").body["spec"]["triggers"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["metadata"]["query"] == 'sum(hookline_worker_consumer_lag{service="colt"})'


SCALED_OBJECT_SPEC = {
    "scaleTargetRef",
    "minReplicaCount",
    "maxReplicaCount",
    "pollingInterval",
    "cooldownPeriod",
    "idleReplicaCount",
    "advanced",
    "fallback",
    "triggers",
}
TRIGGER = {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"}


def test_scaled_objects_are_well_formed_for_keda(operations: Release) -> None:
    """Only fields KEDA's v1alpha1 ScaledObject knows, and trigger metadata as strings (KEDA's map[string]string)."""
    for manifest in operations.of_kind("ScaledObject"):
        assert manifest.body["apiVersion"] == "keda.sh/v1alpha1"
        spec = manifest.body["spec"]
        assert set(spec) <= SCALED_OBJECT_SPEC, manifest
        for trigger in spec["triggers"]:
            assert set(trigger) <= TRIGGER, manifest
            assert all(isinstance(v, str) for v in trigger["metadata"].values()), trigger


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"workers": {"sms": {"enabled": True, "autoscaling": {"enabled": True}}}},
            "config.redis_url is required when more than one replica runs (workers.sms)",
        ),
        (
            {
                "config": {"redis_url": "env:R"},
                "existingSecret": "s",
                "secretEnv": {"R": "r"},
                "workers": {
                    "sms": {
                        "enabled": True,
                        "autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2},
                    }
                },
            },
            "workers.sms.autoscaling.maxReplicas must be at least minReplicas",
        ),
        (
            {
                "config": {"redis_url": "env:R"},
                "existingSecret": "s",
                "secretEnv": {"R": "r"},
                "workers": {
                    "colt": {
                        "enabled": True,
                        "autoscaling": {"enabled": True, "trigger": "prometheus"},
                    }
                },
            },
            "workers.colt.autoscaling.prometheusServerAddress is needed",
        ),
    ],
    ids=["autoscaled without Redis", "max below min", "prometheus without address"],
)
def test_autoscaling_mistakes_fail_the_render(
    chart: helm_python.Chart, values: dict[str, Any], message: str
) -> None:
    """Autoscaling that could not work stops the render with a message naming the value to set."""
    with pytest.raises(helm_python.HelmError) as info:
        render(chart, values)
    assert message in str(info.value)
