"""The rendered manifests are valid Kubernetes objects and hang together."""

from __future__ import annotations

import math
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from tests.helm.rendering import CHART_DIR, KUBE_VERSION, Manifest, Release, read_values, render

# Custom resources whose schemas kubernetes-validate does not ship; each is
# checked structurally below instead. Any other unknown kind fails.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}

WORKERS = ("sms", "colt", "reservation", "reactor")


def _validate(manifest: Manifest) -> None:
    try:
        kubernetes_validate.validate(manifest.body, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{manifest} is invalid for Kubernetes {KUBE_VERSION}: {where}: {exc.message}")


def test_every_manifest_validates_strictly(release: Release) -> None:
    """Every rendered object passes Kubernetes' OpenAPI schema in strict mode (unknown fields fail)."""
    assert release.manifests
    for manifest in release.manifests:
        if (manifest.body["apiVersion"], manifest.kind) in CUSTOM_KINDS:
            continue
        _validate(manifest)


def test_strict_validation_catches_a_misplaced_field(default_release: Release) -> None:
    """The validator is not a rubber stamp: a typo in a rendered Deployment is rejected."""
    deployment = default_release.of_kind("Deployment")[0]
    broken = yaml.safe_load(yaml.safe_dump(deployment.body))
    broken["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


def test_names_are_unique_and_dns_labels(release: Release) -> None:
    """No two objects of a kind share a name, and every name fits a DNS label."""
    seen = set()
    for manifest in release.manifests:
        key = (manifest.kind, manifest.name)
        assert key not in seen, f"duplicate {manifest}"
        seen.add(key)
        assert len(manifest.name) <= 63, manifest
        assert manifest.body["metadata"]["namespace"] == "hooks", manifest


def test_default_render_is_minimal(default_release: Release) -> None:
    """With default values only the ingress, its config and the topics hook are rendered."""
    regular = sorted((m.kind, m.name) for m in default_release.manifests if not m.is_hook)
    hooks = sorted((m.kind, m.name) for m in default_release.manifests if m.is_hook)
    assert regular == [
        ("ConfigMap", "hookline"),
        ("Deployment", "hookline-server"),
        ("Service", "hookline-server"),
        ("ServiceAccount", "hookline"),
    ]
    assert hooks == [("ConfigMap", "hookline-topics"), ("Job", "hookline-topics")]
    for kind in ("HorizontalPodAutoscaler", "Ingress", "ServiceMonitor", "PodDisruptionBudget"):
        assert not default_release.of_kind(kind), kind


def test_production_renders_every_optional_part(production_release: Release) -> None:
    """The production scenario turns on Ingress, HPA, PDBs, ServiceMonitor and all workers."""
    kinds = production_release.kinds()
    assert {"Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"} <= kinds
    workers = {m.name for m in production_release.of_kind("Deployment")} - {"hookline-server"}
    assert workers == {f"hookline-worker-{name}" for name in WORKERS}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_every_pod_is_locked_down(release: Release) -> None:
    """Every pod runs as non-root with seccomp RuntimeDefault; every container drops ALL
    capabilities, forbids privilege escalation, has a read-only root and a writable /tmp."""
    pods = list(release.pod_templates())
    assert pods
    for manifest, pod in pods:
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, manifest
        assert security["runAsUser"] > 0, manifest
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, manifest
        assert pod["automountServiceAccountToken"] is False, manifest
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in _containers(pod):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, manifest
            assert context["allowPrivilegeEscalation"] is False, manifest
            assert context["capabilities"]["drop"] == ["ALL"], manifest
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1, manifest
            assert "emptyDir" in volumes[tmp[0]["name"]], manifest
            assert container["resources"]["requests"], manifest


def test_server_probes_drain_and_grace(release: Release) -> None:
    """The ingress is probed on /healthz and /readyz, sleeps in preStop, and its grace covers
    the preStop sleep plus uvicorn's 10 s graceful shutdown."""
    pod = release.get("Deployment", "hookline-server").body["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    assert int(sleep[1]) > 0
    assert pod["terminationGracePeriodSeconds"] > int(sleep[1]) + 10


def test_workers_outlive_their_shutdown_grace(release: Release) -> None:
    """Each worker pod's terminationGracePeriodSeconds is longer than worker.shutdown_grace_seconds."""
    config = yaml.safe_load(release.get("ConfigMap", "hookline").body["data"]["hookline.yaml"])
    grace = math.ceil(config.get("worker", {}).get("shutdown_grace_seconds", 30))
    for deployment in release.of_kind("Deployment"):
        if deployment.name == "hookline-server":
            continue
        pod = deployment.body["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"][0] == "worker"
        assert container["args"][1] in WORKERS
        assert pod["terminationGracePeriodSeconds"] > grace, deployment


def test_production_worker_grace_is_derived_or_explicit(production_release: Release) -> None:
    """Workers get shutdown grace (45 s) plus the 15 s margin unless they set their own (colt: 90)."""
    grace = {
        d.name: d.body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        for d in production_release.of_kind("Deployment")
    }
    assert grace["hookline-worker-sms"] == 60
    assert grace["hookline-worker-colt"] == 90


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_selectors_match_exactly_their_own_pods(release: Release) -> None:
    """Each Deployment selects its own pod labels only; the Service selects the ingress pods only."""
    deployments = release.of_kind("Deployment")
    for deployment in deployments:
        selector = deployment.body["spec"]["selector"]["matchLabels"]
        assert _selects(selector, deployment.body["spec"]["template"]["metadata"]["labels"])
        others = [d for d in deployments if d is not deployment]
        for other in others:
            labels = other.body["spec"]["template"]["metadata"]["labels"]
            assert not _selects(selector, labels), f"{deployment} also selects {other}"
    service = release.get("Service", "hookline-server")
    selected = [
        d.name
        for d in deployments
        if _selects(
            service.body["spec"]["selector"], d.body["spec"]["template"]["metadata"]["labels"]
        )
    ]
    assert selected == ["hookline-server"]


def test_pdbs_select_existing_pods(release: Release) -> None:
    """Every PodDisruptionBudget selects the pods of exactly one Deployment."""
    for pdb in release.of_kind("PodDisruptionBudget"):
        selector = pdb.body["spec"]["selector"]["matchLabels"]
        owners = [
            d.name
            for d in release.of_kind("Deployment")
            if _selects(selector, d.body["spec"]["template"]["metadata"]["labels"])
        ]
        assert owners == [pdb.name], pdb


def test_ingress_and_hpa_point_at_rendered_objects(production_release: Release) -> None:
    """The Ingress routes /webhooks over TLS to the rendered Service's named port; the HPA
    scales the ingress Deployment on CPU and requests per second."""
    ingress = production_release.get("Ingress", "hookline-server").body["spec"]
    assert ingress["tls"][0]["hosts"] == ["hooks.example.com"]
    (rule,) = ingress["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/webhooks"
    backend = path["backend"]["service"]
    service = production_release.get("Service", backend["name"]).body["spec"]
    assert backend["port"]["name"] in {p["name"] for p in service["ports"]}

    hpa = production_release.get("HorizontalPodAutoscaler", "hookline-server").body["spec"]
    target = hpa["scaleTargetRef"]
    assert production_release.get(target["kind"], target["name"])
    assert {m["type"] for m in hpa["metrics"]} == {"Resource", "Pods"}
    assert "replicas" not in production_release.get("Deployment", "hookline-server").body["spec"]


def test_service_monitor_scrapes_the_ingress_metrics(production_release: Release) -> None:
    """The ServiceMonitor (no bundled schema) selects the ingress Service and scrapes its
    named port at /metrics in the release namespace."""
    (monitor,) = production_release.of_kind("ServiceMonitor")
    spec = monitor.body["spec"]
    assert set(spec) == {"endpoints", "namespaceSelector", "selector"}
    assert monitor.body["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    service = production_release.get("Service", "hookline-server").body
    assert _selects(spec["selector"]["matchLabels"], service["metadata"]["labels"])
    assert spec["namespaceSelector"] == {"matchNames": ["hooks"]}
    (endpoint,) = spec["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["interval"] == "15s"


def test_topics_job_is_a_pre_install_hook_with_its_own_config(release: Release) -> None:
    """`hookline topics create` runs as a pre-install/pre-upgrade hook that reads a hook
    ConfigMap created before it, holding the same hookline.yaml as the release."""
    job = release.get("Job", "hookline-topics")
    config = release.get("ConfigMap", "hookline-topics")
    for hook in (job, config):
        assert hook.annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(config.annotations["helm.sh/hook-weight"]) < int(
        job.annotations["helm.sh/hook-weight"]
    )
    pod = job.body["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["topics", "create"]
    assert pod["restartPolicy"] == "Never"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "hookline-topics"
    # The release's ServiceAccount does not exist yet when pre-install hooks run.
    assert "serviceAccountName" not in pod
    assert config.body["data"] == release.get("ConfigMap", "hookline").body["data"]


def test_config_changes_roll_the_pods(chart: helm_python.Chart, default_release: Release) -> None:
    """Pods carry a checksum of the ConfigMap, so a config change restarts them."""
    changed = render(chart, {"config": {"observability": {"log_level": "debug"}}})
    before = default_release.get("Deployment", "hookline-server").body["spec"]["template"]
    after = changed.get("Deployment", "hookline-server").body["spec"]["template"]
    key = "checksum/config"
    assert before["metadata"]["annotations"][key] != after["metadata"]["annotations"][key]


def test_long_release_names_stay_distinct(chart: helm_python.Chart) -> None:
    """A 53-character release name still yields names of at most 63 characters, all distinct."""
    values = read_values(CHART_DIR / "ci" / "production-values.yaml")
    long = render(chart, values, name="a" * 40 + "-production-x")
    names = [(m.kind, m.name) for m in long.manifests]
    assert len(names) == len(set(names))
    assert all(len(name) <= 63 for _, name in names)
    assert any(name.endswith("-worker-reservation") for _, name in names)


def test_notes_tell_how_to_reach_and_check(release: Release) -> None:
    """NOTES.txt says where the webhook endpoint is and how to check readiness."""
    assert "/webhooks" in release.notes
    assert "/readyz" in release.notes
    assert "kubectl -n hooks" in release.notes
    if release.of_kind("Ingress"):
        assert "https://hooks.example.com/webhooks" in release.notes
    else:
        assert "port-forward svc/hookline-server" in release.notes
