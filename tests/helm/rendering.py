"""Render the chart offline with Helm's own engine and read back the manifests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "hookline"
CI_VALUES = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
KUBE_VERSION = "1.30.0"
RELEASE = "hookline"
NAMESPACE = "hooks"


@dataclass
class Manifest:
    """One rendered Kubernetes object and the template it came from."""

    template: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.body["metadata"].get("annotations") or {})

    @property
    def is_hook(self) -> bool:
        return "helm.sh/hook" in self.annotations

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.template})"


@dataclass
class Release:
    """Everything one `helm template` would print: manifests and NOTES.txt."""

    manifests: list[Manifest]
    notes: str
    values: dict[str, Any] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m.kind == kind]

    def get(self, kind: str, name: str) -> Manifest:
        for manifest in self.manifests:
            if manifest.kind == kind and manifest.name == name:
                return manifest
        raise KeyError(f"{kind}/{name} not rendered; have {[str(m) for m in self.manifests]}")

    def kinds(self) -> set[str]:
        return {m.kind for m in self.manifests}

    def pod_templates(self) -> Iterator[tuple[Manifest, dict[str, Any]]]:
        """Every pod spec the release would start (Deployments and Jobs)."""
        for manifest in self.manifests:
            if manifest.kind in ("Deployment", "Job"):
                yield manifest, manifest.body["spec"]["template"]["spec"]


def load_chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART_DIR)


def read_values(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data or {}


def render(
    chart: helm_python.Chart,
    values: dict[str, Any] | None = None,
    *,
    name: str = RELEASE,
    namespace: str = NAMESPACE,
) -> Release:
    """Render like `helm install` would (schema enforced); raises helm_python.HelmError."""
    output = chart.render(values or {}, name=name, namespace=namespace, is_install=True)
    manifests = []
    notes = ""
    for template, text in sorted(output.items()):
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        for document in yaml.safe_load_all(text):
            if document:
                manifests.append(Manifest(template, document))
    return Release(manifests, notes, chart.merge_values(values or {}))


def hookline_yaml(release: Release, configmap: str) -> str:
    return str(release.get("ConfigMap", configmap).body["data"]["hookline.yaml"])
