"""``hookline tail``: the CloudEvents arriving on a topic, one JSON line each.

Each line is the record's CloudEvent with where Kafka stored it added under
``_kafka`` (``topic``, ``partition``, ``offset``, ``timestamp``): an underscore
can never begin a CloudEvents attribute name, so it cannot clash with one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer

from hookline.bus.admin import list_topics
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
    parser.add_argument(
        "--id",
        dest="event_id",
        help="only the event with this id (exits after it unless --count says more)",
    )
    parser.add_argument("--pretty", action="store_true", help="indented, for people")
    parser.add_argument(
        "--timeout", type=float, help="exit after this many seconds without a match"
    )
    parser.set_defaults(func=run)


def _matches(
    event: dict[str, Any], event_type: str | None, subject: str | None, event_id: str | None = None
) -> bool:
    if event_id is not None and event.get("id") != event_id:
        return False
    if event_type:
        kind = str(event.get("type", ""))
        if event_type.endswith("*"):
            if not kind.startswith(event_type[:-1]):
                return False
        elif kind != event_type:
            return False
    return not (subject and event.get("subject") != subject)


async def _existing(settings: Any, servers: str, topic: str) -> re.Pattern[str] | None:
    """The pattern for a wildcard topic; raises when nothing by that name or pattern exists."""
    try:
        names = await list_topics(settings.kafka, servers)
    except Exception as exc:
        raise HooklineError(f"cannot reach Kafka at {servers}: {type(exc).__name__}") from exc
    pattern = None
    if "*" in topic:
        pattern = re.compile("^" + re.escape(topic).replace(r"\*", ".*") + "$")
        if not any(pattern.match(name) for name in names):
            raise HooklineError(f"no topic matches {topic}")
    elif topic not in names:
        prefix = topic.split(".", 1)[0] + "."
        known = ", ".join(sorted(n for n in names if n.startswith(prefix))[:12]) or "none"
        raise HooklineError(f"no topic {topic} (known: {known})")
    return pattern


async def run(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    prefix = Topics(settings.kafka.topic_prefix).prefix
    topic = args.topic if args.topic.startswith(prefix + ".") else f"{prefix}.{args.topic}"
    servers, _ = bootstrap(settings.kafka)
    pattern = await _existing(settings, servers, topic)
    wanted = args.count if args.count is not None else (1 if args.event_id else None)
    options = client_options(settings.kafka, servers)
    consumer = AIOKafkaConsumer(
        **options,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
    )
    if pattern is not None:
        consumer.subscribe(pattern=pattern.pattern)
    else:
        consumer.subscribe([topic])
    try:
        await consumer.start()
    except Exception as exc:
        await consumer.stop()
        raise HooklineError(f"cannot reach Kafka at {servers}: {type(exc).__name__}") from exc
    seen = 0
    try:
        while wanted is None or seen < wanted:
            batch = await consumer.getmany(timeout_ms=int((args.timeout or 3600) * 1000))
            if not batch:
                if args.timeout:
                    return _timed_out(seen, wanted, args.timeout)
                continue
            for records in batch.values():
                for record in records:
                    try:
                        event = json.loads(record.value) if record.value else None
                    except json.JSONDecodeError:
                        continue
                    if not isinstance(event, dict) or not _matches(
                        event, args.event_type, args.subject, args.event_id
                    ):
                        continue
                    event["_kafka"] = {
                        "topic": record.topic,
                        "partition": record.partition,
                        "offset": record.offset,
                        "timestamp": record.timestamp,
                    }
                    line = json.dumps(event, indent=2 if args.pretty else None, ensure_ascii=False)
                    print(line, flush=True)
                    seen += 1
                    if wanted is not None and seen >= wanted:
                        return 0
    finally:
        await consumer.stop()
    return 0


def _timed_out(seen: int, wanted: int | None, timeout: float) -> int:
    """0 when what was asked for was printed (any event, or ``--count`` of them), else 1."""
    if wanted is None and seen:
        return 0
    if seen:
        print(f"hookline: only {seen} of {wanted} events within {timeout}s", file=sys.stderr)
    else:
        print(f"hookline: no event within {timeout}s", file=sys.stderr)
    return 1
