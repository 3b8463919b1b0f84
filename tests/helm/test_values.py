"""values.schema.json, the chart's own rules, and `helm lint --strict`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import pytest

from hookline.config.models import HooklineSettings, KafkaSettings
from tests.helm.rendering import CHART_DIR, CI_VALUES, KUBE_VERSION, read_values, render

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
# The chart does not run the provider simulators; every other section of
# hookline.yaml may appear under `config`.
NOT_DEPLOYED = {"sandbox"}


def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA)


def _errors(values: dict[str, Any]) -> list[str]:
    return [error.message for error in _validator().iter_errors(values)]


@pytest.mark.parametrize(
    "path", [CHART_DIR / "values.yaml", *CI_VALUES], ids=lambda p: Path(p).name
)
def test_values_files_match_the_schema(chart: helm_python.Chart, path: Path) -> None:
    """values.yaml and every ci/*-values.yaml (merged over the defaults) pass the schema."""
    values = read_values(path)
    merged = chart.merge_values(values) if path.parent.name == "ci" else values
    assert _errors(merged) == []


BAD_VALUES = {
    "replicas as a string": ({"server": {"replicas": "three"}}, "/server/replicas"),
    "unknown top-level key": ({"replicaCount": 2}, "replicaCount"),
    "unknown worker": ({"workers": {"mailer": {"enabled": True}}}, "mailer"),
    "unknown config section": ({"config": {"kafak": {}}}, "kafak"),
    "inline Kafka password": (
        {"config": {"kafka": {"sasl_password": "hunter2"}}},
        "/config/kafka/sasl_password",
    ),
    "Redis URL with a password": (
        {"config": {"redis_url": "redis://:hunter2@redis:6379/0"}},
        "/config/redis_url",
    ),
    "enabled as a string": ({"serviceMonitor": {"enabled": "yes"}}, "/serviceMonitor/enabled"),
    "empty Kafka bootstrap": (
        {"config": {"kafka": {"bootstrap_servers": ""}}},
        "/config/kafka/bootstrap_servers",
    ),
    "no Kafka bootstrap": ({"config": {"kafka": {"bootstrap_servers": None}}}, "bootstrap_servers"),
    "bad secret env name": ({"secretEnv": {"KAFKA-PASSWORD": "k"}}, "KAFKA-PASSWORD"),
    "worker probe port out of range": (
        {"workerDefaults": {"probePort": 70000}},
        "/workerDefaults/probePort",
    ),
    "worker probe port as a string": (
        {"workers": {"sms": {"probePort": "9090"}}},
        "/workers/sms/probePort",
    ),
}


@pytest.mark.parametrize(("values", "where"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_wrong_values(
    chart: helm_python.Chart, values: dict[str, Any], where: str
) -> None:
    """Wrong types, unknown keys and inline secrets are rejected by the schema, and Helm
    enforces the same schema at render time, naming the offending key."""
    assert _errors(chart.merge_values(values)), values
    with pytest.raises(helm_python.HelmValuesError) as info:
        render(chart, values)
    assert where in str(info.value)


def test_schema_config_sections_follow_the_settings_model() -> None:
    """`config` in the schema accepts exactly hookline.yaml's sections (minus the sandbox),
    so a section added to the settings model cannot be silently rejected by the chart."""
    sections = set(SCHEMA["properties"]["config"]["properties"])
    assert sections == set(HooklineSettings.model_fields) - NOT_DEPLOYED


def test_schema_kafka_fields_follow_the_settings_model() -> None:
    """Every Kafka field the schema knows exists in hookline's settings (no stale names)."""
    known = set(SCHEMA["properties"]["config"]["properties"]["kafka"]["properties"])
    assert known <= set(KafkaSettings.model_fields)


RULES = {
    "several replicas without Redis": (
        {"server": {"replicas": 3}},
        "config.redis_url is required when more than one replica runs (server)",
    ),
    "autoscaling without Redis": (
        {"server": {"autoscaling": {"enabled": True}}},
        "config.redis_url is required",
    ),
    "worker replicas without Redis": (
        {"workers": {"sms": {"enabled": True, "replicas": 2}}},
        "(workers.sms)",
    ),
    "worker grace too short": (
        {
            "config": {"worker": {"shutdown_grace_seconds": 60}},
            "workers": {"colt": {"enabled": True, "terminationGracePeriodSeconds": 60}},
        },
        "workers.colt.terminationGracePeriodSeconds (60) must be longer than",
    ),
    "secret env without a Secret": (
        {"secretEnv": {"KAFKA_SASL_PASSWORD": "kafka-password"}},
        "existingSecret is required",
    ),
    "PDB on a single replica": (
        {"server": {"podDisruptionBudget": {"enabled": True}}},
        "server.podDisruptionBudget needs more than one replica",
    ),
}


@pytest.mark.parametrize(("values", "message"), RULES.values(), ids=RULES.keys())
def test_chart_refuses_unsafe_combinations(
    chart: helm_python.Chart, values: dict[str, Any], message: str
) -> None:
    """Combinations a schema cannot express fail the render with a message saying what to set."""
    with pytest.raises(helm_python.HelmRenderError) as info:
        render(chart, values)
    assert message in str(info.value)


def test_redis_lifts_the_single_replica_rule(chart: helm_python.Chart) -> None:
    """With config.redis_url set, several ingress and worker replicas render."""
    release = render(
        chart,
        {
            "config": {"redis_url": "redis://redis-master:6379/0"},
            "server": {"replicas": 3},
            "workers": {"sms": {"enabled": True, "replicas": 4}},
        },
    )
    replicas = {d.name: d.body["spec"]["replicas"] for d in release.of_kind("Deployment")}
    assert replicas == {"hookline-server": 3, "hookline-worker-sms": 4}


@pytest.mark.parametrize(
    "path", [None, *CI_VALUES], ids=lambda p: Path(p).name if p else "values.yaml"
)
def test_helm_lint_strict_passes(path: Path | None) -> None:
    """`helm lint --strict` against Kubernetes 1.30 reports no warning or error."""
    values = read_values(path) if path else None
    report = helm_python.lint(CHART_DIR, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == []
    assert problems == []
    assert report["total_charts_linted"] == 1


def test_helm_lint_reports_a_broken_chart(tmp_path: Path) -> None:
    """Lint is a real check: a chart whose template does not parse is reported as an error."""
    broken = tmp_path / "hookline"
    chart = helm_python.Chart.load(CHART_DIR)
    chart.save_dir(tmp_path)
    template = broken / "templates" / "server-service.yaml"
    template.write_text(template.read_text(encoding="utf-8") + "\n{{ if }}\n", encoding="utf-8")
    report = helm_python.lint(broken, strict=True, kube_version=f"v{KUBE_VERSION}")
    assert any(m["severity"] == 3 for m in report["messages"]) or report["errors"]


def test_schema_and_values_yaml_name_the_same_keys() -> None:
    """Every top-level value is described by the schema and every schema key has a default
    (`global` is Helm's own)."""
    values = read_values(CHART_DIR / "values.yaml")
    assert set(SCHEMA["properties"]) - {"global"} == set(values)
    assert SCHEMA["additionalProperties"] is False


def test_merge_keeps_defaults_for_unset_worker_fields(chart: helm_python.Chart) -> None:
    """A worker entry overrides workerDefaults field by field (the rest keeps the defaults)."""
    values = copy.deepcopy(read_values(CHART_DIR / "ci" / "production-values.yaml"))
    release = render(chart, values)
    reactor = release.get("Deployment", "hookline-worker-reactor").body["spec"]
    assert reactor["replicas"] == 2
    assert reactor["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "50m"
    reservation = release.get("Deployment", "hookline-worker-reservation").body["spec"]
    assert reservation["replicas"] == 3
