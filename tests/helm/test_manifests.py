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
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}

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
    for kind in (
        "HorizontalPodAutoscaler",
        "Ingress",
        "ServiceMonitor",
        "PodMonitor",
        "PodDisruptionBudget",
    ):
        assert not default_release.of_kind(kind), kind


def test_production_renders_every_optional_part(production_release: Release) -> None:
    """The production scenario turns on Ingress, HPA, PDBs, Service/PodMonitor and all workers."""
    kinds = production_release.kinds()
    optional = {"Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"}
    assert optional | {"PodMonitor"} <= kinds
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


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A full LabelSelector (matchLabels and matchExpressions) against a pod's labels."""
    if not _selects(selector.get("matchLabels", {}), labels):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "NotIn" and labels.get(key) in expression["values"]:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _workers(release: Release) -> list[Manifest]:
    return [d for d in release.of_kind("Deployment") if d.name != "hookline-server"]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _assert_probed(deployment: Manifest, port: int) -> None:
    """The worker container serves its probe server on `port`, declared as `metrics`,
    reachable from the kubelet, and is liveness-probed on /healthz there."""
    (container,) = deployment.body["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p for p in container.get("ports", [])}
    assert set(ports) == {"metrics"}, deployment
    assert ports["metrics"]["containerPort"] == port, deployment
    assert ports["metrics"]["protocol"] == "TCP", deployment
    env = _env(container)
    assert env["HOOKLINE_WORKER__PROBE_PORT"] == str(port), deployment
    # hookline's default host is 127.0.0.1, which neither the kubelet nor Prometheus reaches.
    assert env["HOOKLINE_WORKER__PROBE_HOST"] == "0.0.0.0", deployment
    names = [e["name"] for e in container["env"]]
    assert len(names) == len(set(names)), f"duplicate env in {deployment}"
    probe = container["livenessProbe"]
    assert probe["httpGet"]["path"] == "/healthz", deployment
    assert probe["httpGet"]["port"] in (port, "metrics"), deployment


def _assert_not_probed(deployment: Manifest) -> None:
    (container,) = deployment.body["spec"]["template"]["spec"]["containers"]
    assert "ports" not in container, deployment
    assert "livenessProbe" not in container, deployment
    assert not [n for n in _env(container) if n.startswith("HOOKLINE_WORKER__PROBE_")], deployment


def test_workers_serve_probes_on_their_declared_port(release: Release) -> None:
    """Every worker container sets the probe server's env, declares its port and is
    liveness-probed on it."""
    for deployment in _workers(release):
        _assert_probed(deployment, 9090)


def test_production_workers_are_all_probed(production_release: Release) -> None:
    """Every production worker (all four) is probed; the ingress keeps its own port only."""
    workers = _workers(production_release)
    assert len(workers) == len(WORKERS)
    for deployment in workers:
        _assert_probed(deployment, 9090)
    server = production_release.get("Deployment", "hookline-server").body
    (container,) = server["spec"]["template"]["spec"]["containers"]
    assert {p["name"] for p in container["ports"]} == {"http"}
    assert not [n for n in _env(container) if n.startswith("HOOKLINE_WORKER__")]
    assert "port-forward deploy/hookline-worker-sms 9090" in production_release.notes


def test_worker_liveness_tolerates_startup_and_acts_on_a_stall(production_release: Release) -> None:
    """The liveness probe leaves time to start the consumers and join the group (~10 s)
    before it can restart a pod, and restarts a stalled worker (whose /healthz fails after
    config.worker.stall_seconds, 120 s) within another minute or so."""
    for deployment in _workers(production_release):
        (container,) = deployment.body["spec"]["template"]["spec"]["containers"]
        probe = container["livenessProbe"]
        delay = probe.get("initialDelaySeconds", 0)
        period = probe.get("periodSeconds", 10)
        failures = probe.get("failureThreshold", 3)
        assert delay >= 20, deployment
        assert delay + period * (failures - 1) >= 45, deployment
        assert period * failures <= 60, deployment
        assert probe.get("timeoutSeconds", 1) < period, deployment


def test_worker_probe_port_is_per_worker_and_can_be_off(chart: helm_python.Chart) -> None:
    """`workers.<name>.probePort` overrides the default; null turns the server, port and
    probe off for that worker, and the PodMonitor then leaves it out."""
    release = render(
        chart,
        {
            "workers": {
                "sms": {"enabled": True, "probePort": 9191},
                "colt": {"enabled": True, "probePort": None},
                "reactor": {"enabled": True},
            },
            "serviceMonitor": {"enabled": True},
        },
    )
    _assert_probed(release.get("Deployment", "hookline-worker-sms"), 9191)
    _assert_probed(release.get("Deployment", "hookline-worker-reactor"), 9090)
    _assert_not_probed(release.get("Deployment", "hookline-worker-colt"))
    (monitor,) = release.of_kind("PodMonitor")
    selector = monitor.body["spec"]["selector"]
    selected = {
        d.name
        for d in release.of_kind("Deployment")
        if _matches(selector, d.body["spec"]["template"]["metadata"]["labels"])
    }
    assert selected == {"hookline-worker-sms", "hookline-worker-reactor"}


def test_worker_probes_can_be_off_for_all(chart: helm_python.Chart) -> None:
    """`workerDefaults.probePort: null` (e.g. for an image without the probe server) leaves
    every worker without probe env, port and liveness probe, and renders no PodMonitor."""
    release = render(
        chart,
        {
            "workerDefaults": {"probePort": None},
            "workers": {"sms": {"enabled": True}, "colt": {"enabled": True}},
            "serviceMonitor": {"enabled": True},
        },
    )
    workers = _workers(release)
    assert len(workers) == 2
    for deployment in workers:
        _assert_not_probed(deployment)
    assert release.of_kind("ServiceMonitor")
    assert not release.of_kind("PodMonitor")


def test_pod_monitor_needs_the_service_monitor_and_a_worker(chart: helm_python.Chart) -> None:
    """No PodMonitor without `serviceMonitor.enabled`, nor when no worker is enabled."""
    workers_only = render(chart, {"workers": {"sms": {"enabled": True}}})
    assert not workers_only.of_kind("PodMonitor")
    monitor_only = render(chart, {"serviceMonitor": {"enabled": True}})
    assert monitor_only.of_kind("ServiceMonitor")
    assert not monitor_only.of_kind("PodMonitor")


def test_pod_monitor_scrapes_exactly_the_worker_pods(production_release: Release) -> None:
    """The PodMonitor (no bundled schema) selects the pods of every worker Deployment and
    nothing else, in the release namespace, and scrapes /metrics on a port name those pods
    declare, with the ServiceMonitor's interval, timeout and labels."""
    (monitor,) = production_release.of_kind("PodMonitor")
    assert monitor.name == "hookline-workers"
    assert monitor.body["apiVersion"] == "monitoring.coreos.com/v1"
    spec = monitor.body["spec"]
    assert set(spec) == {"podMetricsEndpoints", "namespaceSelector", "selector"}
    assert monitor.body["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert spec["namespaceSelector"] == {"matchNames": ["hooks"]}
    selected = [
        d
        for d in production_release.of_kind("Deployment")
        if _matches(spec["selector"], d.body["spec"]["template"]["metadata"]["labels"])
    ]
    assert {d.name for d in selected} == {f"hookline-worker-{name}" for name in WORKERS}
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "15s"
    assert endpoint["scrapeTimeout"] == "10s"
    for deployment in selected:
        (container,) = deployment.body["spec"]["template"]["spec"]["containers"]
        assert endpoint["port"] in {p["name"] for p in container["ports"]}, deployment
    (service_monitor,) = production_release.of_kind("ServiceMonitor")
    assert monitor.name != service_monitor.name


def test_pod_monitor_reuses_the_relabelings(chart: helm_python.Chart) -> None:
    """serviceMonitor.relabelings and metricRelabelings apply to the workers' scrape too."""
    relabel = [{"action": "replace", "targetLabel": "team", "replacement": "payments"}]
    drop = [{"action": "drop", "sourceLabels": ["__name__"], "regex": "python_gc_.*"}]
    release = render(
        chart,
        {
            "workers": {"sms": {"enabled": True}},
            "serviceMonitor": {
                "enabled": True,
                "relabelings": relabel,
                "metricRelabelings": drop,
            },
        },
    )
    (endpoint,) = release.get("PodMonitor", "hookline-workers").body["spec"]["podMetricsEndpoints"]
    assert endpoint["relabelings"] == relabel
    assert endpoint["metricRelabelings"] == drop


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
