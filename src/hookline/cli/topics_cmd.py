"""``hookline topics create``: every configured topic, with per-topic results."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hookline.bus.admin import create_topics
from hookline.bus.topics import all_topics, generic_domains, topic_configs
from hookline.cli.common import load
from hookline.config.models import HooklineSettings, bootstrap
from hookline.providers.registry import PROVIDERS


def register(sub: Any) -> None:
    parser = sub.add_parser("topics", help="manage Kafka topics")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    create = actions.add_parser("create", help="create all topics with kafka.partitions")
    create.set_defaults(func=run_create)


def topic_names(settings: HooklineSettings) -> list[str]:
    domains = {name: spec.adapter.domain for name, spec in PROVIDERS.items()}
    return all_topics(settings, extra_domains=generic_domains(settings, domains))


async def ensure_topics(settings: HooklineSettings) -> list[str]:
    """Create every topic; return the errors (empty when all exist)."""
    servers, _ = bootstrap(settings.kafka)
    results = await create_topics(
        settings.kafka, servers, topic_names(settings), topic_configs(settings)
    )
    return [f"{r.topic}: {r.error}" for r in results if not r.ok]


async def run_create(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    results = await create_topics(
        settings.kafka, servers, topic_names(settings), topic_configs(settings)
    )
    failed = 0
    for result in results:
        if result.ok:
            print(f"{'created' if result.created else 'exists '}  {result.topic}")
        else:
            failed += 1
            print(f"error    {result.topic}: {result.error}", file=sys.stderr)
    return 1 if failed else 0
