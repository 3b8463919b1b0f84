"""Reactor rules written in YAML as the README writes them load and pass ``config check``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hookline.config.loader import load_settings

ROOT = Path(__file__).resolve().parents[2]


def _readme_rule_example() -> str:
    """The README's own YAML example of a custom rule, exactly as a user would copy it."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    [block] = [b for b in blocks if "big-order-alert" in b]
    return block


def test_readme_example_loads_with_on_as_a_key(tmp_path: Path) -> None:
    """``on:`` stays the key ``on`` (YAML 1.1 would read it as the boolean true)."""
    path = tmp_path / "hookline.yaml"
    path.write_text(_readme_rule_example())
    settings = load_settings(path, environ={})
    rules = settings.reactor.rules or []
    assert [(r.name, r.on, r.emit) for r in rules] == [
        ("big-order-alert", "colt.order.state_changed", "sms.send")
    ]
    assert settings.reactor.include_defaults is True


def test_readme_example_passes_config_check(tmp_path: Path) -> None:
    """The real command line accepts the README's rule: exit 0, no problem printed."""
    path = tmp_path / "hookline.yaml"
    path.write_text(_readme_rule_example())
    done = subprocess.run(
        [sys.executable, "-m", "hookline", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Keys should be strings" not in done.stdout + done.stderr


@pytest.mark.parametrize("word", ["yes", "on", "true", "True"])
def test_boolean_settings_still_take_yaml_11_words(tmp_path: Path, word: str) -> None:
    """A boolean setting written ``yes``/``on`` still means true."""
    path = tmp_path / "hookline.yaml"
    path.write_text(f"reactor:\n  include_defaults: {word}\n  rules: []\n")
    assert load_settings(path, environ={}).reactor.include_defaults is True
