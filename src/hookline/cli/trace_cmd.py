"""``hookline trace ID``: one webhook's whole path, from the delivery to every effect it caused.

ID is an event or command id, a provider event id, a request id (``X-Request-ID``)
or a correlation id. The chain is read from Kafka (:mod:`hookline.admin.trace`)
and printed as a tree, each hop with its kind, type, latency from the first
record, time and Kafka coordinates; ``--json`` prints the same tree for scripts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hookline.admin.queries import BadQuery, moment
from hookline.admin.trace import Trace, find, line, read_records
from hookline.cli.common import load
from hookline.config.models import bootstrap
from hookline.errors import ConfigError, HooklineError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "trace", help="print one delivery's chain: events, commands, HTTP calls, dead letters"
    )
    parser.add_argument(
        "id", help="an event or command id, provider event id, request id or correlation id"
    )
    parser.add_argument(
        "--since",
        default="7d",
        help="only records stored since this ISO time or age (default 7d; the embedded broker "
        "keeps everything until it stops)",
    )
    parser.add_argument("--json", action="store_true", help="the tree as one JSON document")
    parser.set_defaults(func=run)


def render(trace: Trace) -> str:
    root_ms = trace.root_ms
    rows = [f"correlation {trace.correlation_id}"]
    rows += [line(hop, depth, root_ms) for depth, hop in trace.walk()]
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    try:
        since = moment(args.since, "--since")
    except BadQuery as exc:
        raise ConfigError(str(exc)) from None
    servers, _ = bootstrap(settings.kafka)
    try:
        hops = await read_records(settings, servers, since)
    except Exception as exc:
        if isinstance(exc, HooklineError):
            raise
        raise HooklineError(f"cannot read Kafka at {servers}: {type(exc).__name__}") from exc
    trace = find(hops, args.id)
    if trace is None:
        raise HooklineError(f"no record names {args.id!r} since {args.since}")
    if args.json:
        print(json.dumps(trace.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(render(trace))
    return 0
