"""The rendered hookline.yaml is a configuration hookline accepts, and its secret
references are exactly what the pods provide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from hookline.config.models import HooklineSettings
from hookline.config.secrets import iter_secrets
from tests.helm.rendering import Release, render

# Plausible stand-ins: a Standard Webhooks secret must look like one.
DUMMY_SECRETS = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "BILLING_WHSEC": "whsec_ZHVtbXktc2VjcmV0LWZvci10aGUtaGVsbS10ZXN0cw==",
}


def _dummy(name: str) -> str:
    return DUMMY_SECRETS.get(name, f"dummy-{name.lower()}")


def _settings(release: Release) -> HooklineSettings:
    text = release.get("ConfigMap", "hookline").body["data"]["hookline.yaml"]
    return HooklineSettings.model_validate(yaml.safe_load(text))


def _references(release: Release) -> list[str]:
    return [secret.ref for _, secret in iter_secrets(_settings(release))]


def _provided(pod: dict[str, Any], container: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Environment variables from Secrets, and secret file paths, that the container sees."""
    env = {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    volumes = {v["name"]: v for v in pod["volumes"]}
    files = set()
    for mount in container.get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret:
            files |= {f"{mount['mountPath']}/{item['path']}" for item in secret["items"]}
    return env, files


def test_every_secret_is_a_reference_the_pods_provide(release: Release) -> None:
    """Each `env:NAME` in hookline.yaml is an env var from the existing Secret and each
    `file:/path` a mounted key, in every hookline container; nothing inline."""
    references = _references(release)
    for manifest, pod in release.pod_templates():
        for container in pod["containers"]:
            env, files = _provided(pod, container)
            for ref in references:
                kind, _, target = ref.partition(":")
                assert kind in ("env", "file"), f"inline secret in {manifest}"
                assert target in (env if kind == "env" else files), f"{ref} missing in {manifest}"


def test_production_uses_env_and_file_references(production_release: Release) -> None:
    """The production scenario exercises both kinds of reference and the existing Secret."""
    kinds = {ref.split(":", 1)[0] for ref in _references(production_release)}
    assert kinds == {"env", "file"}
    pod = production_release.get("Deployment", "hookline-server").body["spec"]["template"]["spec"]
    names = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in pod["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert names == {"hookline-credentials"}
    settings = _settings(production_release)
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.redis_url is not None


def _config_check(
    release: Release,
    workdir: Path,
    *,
    leave_out: str | None = None,
    references: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `hookline config check` on the rendered file the way a pod would see it: env refs
    set to dummies, the secret mount re-rooted to a temporary directory."""
    text = release.get("ConfigMap", "hookline").body["data"]["hookline.yaml"]
    mount = str(release.values["secretMountPath"]).rstrip("/")
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    for ref in _references(release) if references is None else references:
        kind, _, target = ref.partition(":")
        if kind == "env" and target != leave_out:
            environ[target] = _dummy(target)
        elif kind == "file":
            assert target.startswith(mount + "/"), ref
            (secrets_dir / target.removeprefix(mount + "/")).write_text("dummy-file-secret\n")
    text = text.replace(f"file:{mount}/", f"file:{secrets_dir}/")
    config = workdir / "hookline.yaml"
    config.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "hookline", "config", "check", "--config", str(config)],
        cwd=workdir,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rendered_config_passes_hookline_config_check(release: Release, tmp_path: Path) -> None:
    """`hookline config check` accepts the ConfigMap's hookline.yaml with its secrets present."""
    result = _config_check(release, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert "inline secret" not in result.stderr


def test_config_check_names_a_missing_secret(production_release: Release, tmp_path: Path) -> None:
    """The check is real: without the Kafka password's env var it fails and names the variable."""
    result = _config_check(production_release, tmp_path, leave_out="KAFKA_SASL_PASSWORD")
    assert result.returncode == 1
    assert "KAFKA_SASL_PASSWORD" in result.stderr
    assert "kafka.sasl_password" in result.stderr


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"dedup": {"window_seconds": 0}}, "dedup.window_seconds"),
        ({"sources": {"x": {"provider": "standard", "verify": {"scheme": "nope"}}}}, "sources.x"),
    ],
)
def test_config_check_rejects_what_the_schema_lets_through(
    chart: helm_python.Chart,
    default_release: Release,
    tmp_path: Path,
    override: dict[str, Any],
    complaint: str,
) -> None:
    """Deep configuration mistakes the chart's schema leaves to hookline are caught by the check."""
    config = _deep_merge(default_release.values["config"], override)
    broken = render(chart, {"config": config})
    result = _config_check(broken, tmp_path, references=[])
    assert result.returncode == 1
    assert complaint in result.stderr


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
