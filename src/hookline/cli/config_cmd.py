"""``hookline config check``: validate a configuration and say exactly what is wrong."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hookline.config.check import inline_secret_warnings, resolve_secrets, semantic_problems
from hookline.config.loader import ConfigProblems, config_path, load_settings
from hookline.providers.registry import names as provider_names


def register(sub: Any) -> None:
    config = sub.add_parser("config", help="work with the configuration file")
    actions = config.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    check = actions.add_parser("check", help="validate a configuration file")
    check.add_argument("--config", dest="check_config", metavar="PATH", help="file to check")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    import os

    path = args.check_config or args.config
    file = config_path(path, os.environ)
    try:
        settings = load_settings(path)
    except ConfigProblems as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 1
    problems = semantic_problems(settings, provider_names()) + resolve_secrets(settings)
    for extra in EXTRA_CHECKS:
        problems.extend(extra(settings))
    if problems:
        for problem in problems:
            print(str(problem), file=sys.stderr)
        return 1
    warnings = inline_secret_warnings(settings)
    if len(warnings) > 3:
        print(
            f"warning: {len(warnings)} inline secret values (first: {warnings[0].path}); "
            "use env:NAME or file:/path outside development",
            file=sys.stderr,
        )
    else:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    print(f"ok: {file or 'built-in defaults'}")
    for name, source in sorted(settings.sources.items()):
        ips = f", allow_ips: {len(source.allow_ips)}" if source.allow_ips else ""
        print(f"  source {name}: provider {source.provider}, scheme {source.verify.scheme}{ips}")
    kafka = (
        settings.kafka.bootstrap_servers
        or f"embedded broker on port {settings.kafka.embedded_port}"
    )
    print(
        f"  kafka: {kafka} (prefix {settings.kafka.topic_prefix}, {settings.kafka.partitions} partitions)"
    )
    return 0


def _reactor_rules(settings: Any) -> list[Any]:
    from hookline.reactor.rules import rule_problems

    return rule_problems(settings)


def _sms_service(settings: Any) -> list[Any]:
    from hookline.services.sms.config import settings_problems

    return settings_problems(settings)


# Whole-configuration checks beyond types and secrets.
EXTRA_CHECKS: list[Any] = [_reactor_rules, _sms_service]
