"""Configuration: YAML file, environment overrides, secret references, and clear problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookline.config.check import prepare, resolve_secrets
from hookline.config.loader import ConfigProblems, load_settings
from hookline.providers.registry import names

GOOD = """
server: {port: 9000}
kafka: {bootstrap_servers: "k1:9092,k2:9092", partitions: 12}
sources:
  colt:
    provider: standard
    verify:
      scheme: hmac
      header: X-Colt-Signature
      secrets: [env:COLT_WEBHOOK_SECRET]
    allow_ips: [203.0.113.0/24]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hookline.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigProblems) as info:
        settings = load_settings(write(tmp_path, text), env or {})
        prepare(settings, names(), env or {})
    return [str(p) for p in info.value.problems]


def test_good_file_loads_and_resolves(tmp_path: Path) -> None:
    """A valid file loads; its secret reference resolves from the environment."""
    env = {"COLT_WEBHOOK_SECRET": "s3cret-value"}
    settings = prepare(load_settings(write(tmp_path, GOOD), env), names(), env)
    assert settings.server.port == 9000
    assert settings.kafka.partitions == 12
    assert settings.sources["colt"].verify.secrets[0].get() == "s3cret-value"  # type: ignore[union-attr]


def test_missing_secret_names_reference_not_value(tmp_path: Path) -> None:
    """A missing env secret stops start-up with its path and variable name."""
    found = problems(tmp_path, GOOD)
    assert found == [
        "sources.colt.verify.secrets[0]: environment variable COLT_WEBHOOK_SECRET is not set"
    ]


def test_file_secret(tmp_path: Path) -> None:
    """file: references read the file (trailing newline stripped); a missing file is named."""
    secret = tmp_path / "colt.secret"
    secret.write_text("from-a-file\n")
    text = GOOD.replace("env:COLT_WEBHOOK_SECRET", f"file:{secret}")
    settings = load_settings(write(tmp_path, text), {})
    assert resolve_secrets(settings, {}) == []
    assert settings.sources["colt"].verify.secrets[0].get() == "from-a-file"  # type: ignore[union-attr]
    missing = problems(tmp_path, GOOD.replace("env:COLT_WEBHOOK_SECRET", "file:/nonexistent/x"))
    assert missing == ["sources.colt.verify.secrets[0]: secret file /nonexistent/x does not exist"]


def test_environment_overrides_file(tmp_path: Path) -> None:
    """HOOKLINE_ variables with __ nesting win over the file."""
    env = {
        "COLT_WEBHOOK_SECRET": "x" * 8,
        "HOOKLINE_KAFKA__BOOTSTRAP_SERVERS": "override:9093",
        "HOOKLINE_SERVER__PORT": "9100",
        "HOOKLINE_CONFIG": "ignored-here",
    }
    settings = load_settings(write(tmp_path, GOOD), env)
    assert settings.kafka.bootstrap_servers == "override:9093"
    assert settings.server.port == 9100
    assert settings.kafka.partitions == 12  # untouched values stay


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server: {port: banana}", "server.port: Input should be a valid integer"),
        ("servr: {port: 1}", "servr: unknown field"),
        (
            "kafka: {security_protocol: SASL_SSL}",
            "kafka: security_protocol SASL_SSL needs sasl_mechanism",
        ),
        (
            "sources: {x: {provider: standard, verify: {scheme: hmac, secrets: [a]}}}",
            "sources.x.verify.header: field required",
        ),
        (
            "sources: {x: {provider: standard, verify: {scheme: rot13, secrets: [a]}}}",
            "sources.x.verify: Input tag 'rot13' found using 'scheme' does not match",
        ),
        (
            "sources: {x: {provider: standard, verify: {scheme: none}}}",
            "sources.x: verify.scheme none is only allowed together with allow_ips",
        ),
        (
            "sources: {x: {provider: nosuch, verify: {scheme: github, secrets: [abcdefgh]}}}",
            "sources.x.provider: unknown provider 'nosuch'",
        ),
        ("server: [1, 2", "at line 1"),
        ("- a\n- b", "the top level must be a mapping"),
    ],
)
def test_bad_files_name_the_path(tmp_path: Path, text: str, expected: str) -> None:
    """Each kind of bad file produces a problem that names where it is."""
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """An explicit path that does not exist is one clear problem."""
    with pytest.raises(ConfigProblems) as info:
        load_settings(tmp_path / "absent.yaml", {})
    assert "does not exist" in str(info.value)


def test_secret_repr_never_shows_value() -> None:
    """A resolved secret prints its reference, an inline one prints a mask."""
    from hookline.config.secrets import Secret

    secret = Secret("env:X")
    secret.resolve({"X": "super-secret-value"})
    assert "super-secret-value" not in repr(secret)
    assert "hunter2-inline" not in repr(Secret("hunter2-inline"))
