"""Whole-configuration checks beyond field types: secrets resolve, names are known."""

from __future__ import annotations

import os
from collections.abc import Mapping

from hookline.config.loader import ConfigProblems, Problem
from hookline.config.models import HooklineSettings
from hookline.config.secrets import iter_secrets
from hookline.errors import SecretError


def resolve_secrets(
    settings: HooklineSettings, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """Resolve every secret reference now; one problem per reference that cannot be."""
    env = os.environ if environ is None else environ
    problems = []
    for path, secret in iter_secrets(settings):
        try:
            secret.resolve(env)
        except SecretError as exc:
            problems.append(Problem(path, str(exc)))
    return problems


def inline_secret_warnings(settings: HooklineSettings) -> list[Problem]:
    return [
        Problem(path, "inline secret value; use env:NAME or file:/path outside development")
        for path, secret in iter_secrets(settings)
        if not secret.is_reference
    ]


def semantic_problems(settings: HooklineSettings, known_providers: set[str]) -> list[Problem]:
    problems = []
    for name, source in settings.sources.items():
        if source.provider not in known_providers:
            known = ", ".join(sorted(known_providers))
            problems.append(
                Problem(
                    f"sources.{name}.provider", f"unknown provider {source.provider!r} ({known})"
                )
            )
    return problems


def prepare(
    settings: HooklineSettings,
    known_providers: set[str],
    environ: Mapping[str, str] | None = None,
) -> HooklineSettings:
    """Start-up gate: resolve secrets and check names; raises :class:`ConfigProblems`."""
    problems = semantic_problems(settings, known_providers) + resolve_secrets(settings, environ)
    if problems:
        raise ConfigProblems(problems)
    return settings
