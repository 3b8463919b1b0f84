"""Load the configuration: one YAML file, then ``HOOKLINE_*`` environment overrides."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hookline.config.models import HooklineSettings
from hookline.config.verify import SCHEME_NAMES
from hookline.errors import ConfigError

CONFIG_ENV = "HOOKLINE_CONFIG"
DEFAULT_CONFIG = Path("hookline.yaml")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, located by its path in the file."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigProblems(ConfigError):
    """The configuration has problems; each names its path."""

    def __init__(self, problems: list[Problem], file: Path | None = None) -> None:
        self.problems = problems
        self.file = file
        super().__init__("; ".join(str(p) for p in problems))


def _environment_settings(environ: Mapping[str, str]) -> type[HooklineSettings]:
    class FromEnvironment(HooklineSettings, BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="HOOKLINE_",
            env_nested_delimiter="__",
            extra="forbid",
            case_sensitive=False,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # The environment wins over the file (README.md#configuration).
            env = EnvSettingsSource(
                settings_cls,
                env_prefix="HOOKLINE_",
                env_nested_delimiter="__",
                case_sensitive=False,
            )
            env.env_vars = {k.lower(): v for k, v in environ.items() if k.upper() != CONFIG_ENV}
            return (env, init_settings)

    return FromEnvironment


def dev_config() -> Path:
    """The development configuration shipped with hookline (everything on one machine)."""
    return Path(str(resources.files("hookline.config") / "dev.yaml"))


def config_path(
    explicit: str | os.PathLike[str] | None,
    environ: Mapping[str, str],
    fallback: Path | None = None,
) -> Path | None:
    """``--config``, else ``HOOKLINE_CONFIG``, else ``./hookline.yaml``, else ``fallback``."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else fallback


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only ``true``/``false``.

    PyYAML follows YAML 1.1, where ``on``, ``off``, ``yes``, ``no`` are
    booleans, so a reactor rule's ``on: colt.order.state_changed`` would load as
    ``{True: …}``. Settings that are booleans still accept those words: the
    settings models read them as pydantic does.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigProblems([Problem("", f"configuration file {path} does not exist")]) from exc
    except OSError as exc:
        raise ConfigProblems([Problem("", f"cannot read {path}: {exc.strerror}")]) from exc
    try:
        data = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigProblems([Problem("", f"{path}: {problem}{where}")], path) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigProblems([Problem("", f"{path}: the top level must be a mapping")], path)
    return data


def format_location(loc: tuple[int | str, ...]) -> str:
    """``('sources', 'colt', 'verify', 'hmac', 'secrets', 0)`` → ``sources.colt.verify.secrets[0]``."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        if previous == "verify" and part in SCHEME_NAMES:
            previous = part
            continue  # the discriminated union's tag is not a key of the file
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "json-or-python", "lax-or-strict")):
            continue
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "field required"
        problems.append(Problem(format_location(tuple(error["loc"])), message))
    return problems


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    fallback: Path | None = None,
) -> HooklineSettings:
    """Read and validate the configuration; raises :class:`ConfigProblems`. Secrets stay unresolved."""
    env = os.environ if environ is None else environ
    file = config_path(path, env, fallback)
    data = _read_yaml(file) if file is not None else {}
    cls = _environment_settings(env)
    try:
        return cls(**data)
    except ValidationError as exc:
        raise ConfigProblems(problems_from_validation(exc), file) from exc
