"""Static checks of the Dockerfile and .dockerignore (no container engine runs in the suite).

They read the files the way `docker build` does: instructions with their line
continuations, build arguments resolved in FROM, stages by name, and
.dockerignore patterns with Docker's matching rules.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from functools import cache

import pytest

from tests.helm.rendering import CHART_DIR, ROOT, read_values

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BUILD_TOOLS = re.compile(
    r"\b(apt-get|apt|apk|yum|dnf|gcc|g\+\+|cc|make|build-essential|git|cargo|rustc)\b"
)


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.image} has no {keyword}"
        return found[-1]


def _instructions(text: str) -> list[Instruction]:
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # comments inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip()))
    return result


@cache
def stages() -> list[Stage]:
    """The build stages, with global ARG defaults substituted into FROM."""
    arguments: dict[str, str] = {}
    parsed: list[Stage] = []
    for instruction in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if instruction.keyword == "ARG" and not parsed:
            name, _, default = instruction.args.partition("=")
            arguments[name] = default
        elif instruction.keyword == "FROM":
            words = instruction.args.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            parsed.append(Stage(image, name))
        else:
            assert parsed, f"{instruction.keyword} before the first FROM"
            parsed[-1].instructions.append(instruction)
    return parsed


def test_dockerfile_enables_buildkit_syntax() -> None:
    """The first line selects the Dockerfile frontend that understands RUN --mount."""
    first = DOCKERFILE.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# syntax=docker/dockerfile:1")


def test_builder_stage_builds_the_wheels() -> None:
    """A builder stage copies only the package sources and runs `pip wheel`."""
    builder, *_ = stages()
    assert len(stages()) >= 2
    assert builder.name == "builder"
    assert any("pip wheel" in run for run in builder.all("RUN"))
    copied = {word for args in builder.all("COPY") for word in shlex.split(args)[:-1]}
    assert copied == {"pyproject.toml", "README.md", "src"}


def test_runtime_is_python_slim_with_only_the_installed_wheel() -> None:
    """The final stage is python:3.11-slim, installs hookline offline from the builder's
    wheels without copying them into a layer, and removes pip, setuptools and wheel."""
    runtime = stages()[-1]
    assert runtime.image == "python:3.11-slim"
    assert runtime.all("COPY") == []
    assert runtime.all("ADD") == []
    (install,) = [run for run in runtime.all("RUN") if "pip install" in run]
    assert "--mount=type=bind,from=builder,source=/wheels" in install
    assert "--no-index" in install
    assert re.search(r"pip uninstall --yes pip setuptools wheel", install)


def test_runtime_has_no_build_tools() -> None:
    """Nothing in the final stage installs a package manager's packages or a compiler."""
    runtime = stages()[-1]
    for run in runtime.all("RUN"):
        assert not BUILD_TOOLS.search(run), run


def test_runtime_runs_as_the_charts_non_root_user() -> None:
    """The image's USER is a numeric non-root uid:gid that the chart's podSecurityContext uses
    (numeric, so Kubernetes can verify runAsNonRoot)."""
    runtime = stages()[-1]
    uid, _, gid = runtime.last("USER").partition(":")
    assert uid.isdigit()
    assert int(uid) > 0
    assert gid.isdigit()
    pod = read_values(CHART_DIR / "values.yaml")["podSecurityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (int(uid), int(gid))
    assert any(f"--uid {uid}" in run for run in runtime.all("RUN"))


def test_entrypoint_is_hookline_and_cmd_serves_like_the_chart() -> None:
    """ENTRYPOINT is exactly ["hookline"] in exec form (signals reach hookline as PID 1);
    the default CMD is the ingress command the chart runs."""
    runtime = stages()[-1]
    assert json.loads(runtime.last("ENTRYPOINT")) == ["hookline"]
    assert json.loads(runtime.last("CMD")) == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert runtime.last("EXPOSE") == "8000"


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            out += ".*"
            index += 2
        elif pattern[index] == "*":
            out += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(pattern[index])
            index += 1
    return re.compile(out + "$")


def _ignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for rule in rules:
        negated = rule.startswith("!")
        regex = _pattern_regex(rule.lstrip("!"))
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


@pytest.mark.parametrize(
    "path", ["pyproject.toml", "README.md", "src/hookline/__init__.py", "src/hookline/py.typed"]
)
def test_dockerignore_keeps_what_the_wheel_needs(path: str) -> None:
    """Everything the builder copies stays in the build context."""
    assert not _ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/config",
        "tests/conftest.py",
        "hookline.yaml",
        "helm/hookline/values.yaml",
        "src/hookline/__pycache__/cli.cpython-311.pyc",
        "src/hookline.egg-info/PKG-INFO",
        ".env",
    ],
)
def test_dockerignore_keeps_the_rest_out(path: str) -> None:
    """The virtualenv, git history, tests, local config and caches never enter the context."""
    assert _ignored(path)
