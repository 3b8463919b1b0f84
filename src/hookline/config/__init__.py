"""Configuration: one YAML file, ``HOOKLINE_*`` overrides, secret references."""

from hookline.config.loader import ConfigProblems, Problem, config_path, load_settings
from hookline.config.models import (
    HooklineSettings,
    KafkaSettings,
    ProviderSettings,
    ServerSettings,
    SourceSettings,
    WorkerSettings,
)
from hookline.config.secrets import Secret, iter_secrets

__all__ = [
    "ConfigProblems",
    "HooklineSettings",
    "KafkaSettings",
    "Problem",
    "ProviderSettings",
    "Secret",
    "ServerSettings",
    "SourceSettings",
    "WorkerSettings",
    "config_path",
    "iter_secrets",
    "load_settings",
]
