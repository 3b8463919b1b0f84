"""``hookline tail``: the CloudEvents arriving on a topic, one JSON line each."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer

from hookline.bus.connection import client_options
from hookline.bus.topics import Topics
from hookline.cli.common import load
from hookline.config.models import bootstrap
from hookline.errors import HooklineError


def register(sub: Any) -> None:
    parser = sub.add_parser("tail", help="print CloudEvents arriving on a topic")
    parser.add_argument(
        "topic",
        nargs="?",
        default="events.*",
        help="topic, with or without the prefix; 'events.*' (default) follows every events topic",
    )
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    parser.add_argument("--count", type=int, help="exit after N events")
    parser.add_argument(
        "--type", dest="event_type", help="only events of this type (prefix match with *)"
    )
    parser.add_argument("--subject", help="only events about this subject")
    parser.add_argument("--pretty", action="store_true", help="indented, for people")
    parser.add_argument(
        "--timeout", type=float, help="exit after this many seconds without a match"
    )
    parser.set_defaults(func=run)


def _matches(event: dict[str, Any], event_type: str | None, subject: str | None) -> bool:
    if event_type:
        kind = str(event.get("type", ""))
        if event_type.endswith("*"):
            if not kind.startswith(event_type[:-1]):
                return False
        elif kind != event_type:
            return False
    return not (subject and event.get("subject") != subject)


async def run(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    prefix = Topics(settings.kafka.topic_prefix).prefix
    topic = args.topic if args.topic.startswith(prefix + ".") else f"{prefix}.{args.topic}"
    servers, _ = bootstrap(settings.kafka)
    options = client_options(settings.kafka, servers)
    consumer = AIOKafkaConsumer(
        **options,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
    )
    if "*" in topic:
        pattern = "^" + topic.replace(".", r"\.").replace("*", ".*") + "$"
        consumer.subscribe(pattern=pattern)
    else:
        consumer.subscribe([topic])
    try:
        await consumer.start()
    except Exception as exc:
        await consumer.stop()
        raise HooklineError(f"cannot reach Kafka at {servers}: {type(exc).__name__}") from exc
    seen = 0
    try:
        while args.count is None or seen < args.count:
            batch = await consumer.getmany(timeout_ms=int((args.timeout or 3600) * 1000))
            if not batch:
                if args.timeout:
                    print(f"hookline: no event within {args.timeout}s", file=sys.stderr)
                    return 1
                continue
            for records in batch.values():
                for record in records:
                    try:
                        event = json.loads(record.value) if record.value else None
                    except json.JSONDecodeError:
                        continue
                    if not isinstance(event, dict) or not _matches(
                        event, args.event_type, args.subject
                    ):
                        continue
                    line = json.dumps(event, indent=2 if args.pretty else None, ensure_ascii=False)
                    print(line, flush=True)
                    seen += 1
                    if args.count is not None and seen >= args.count:
                        return 0
    finally:
        await consumer.stop()
    return 0
