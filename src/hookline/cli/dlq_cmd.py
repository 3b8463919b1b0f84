"""``hookline dlq list|show|replay``: inspect and re-inject dead letters (docs/console.md).

The same operations as the console's dead-letter page and ``/admin/dlq/*``
(:mod:`hookline.admin.dead_letters`): the same filters, the same dry run, the
same replayed mark.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from hookline.admin import dead_letters
from hookline.admin.queries import BadQuery, letter_filter
from hookline.cli.common import load
from hookline.config.models import bootstrap
from hookline.errors import HooklineError


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", help="only this service's DLQ (default: every DLQ topic)")
    parser.add_argument("--reason", help="only letters with this reason (e.g. permanent)")
    parser.add_argument("--error-class", help="only letters with this error class")
    parser.add_argument("--since", help="dead-lettered at or after (ISO time or 15m, 2h, 1d)")
    parser.add_argument("--until", help="dead-lettered at or before (ISO time)")
    parser.add_argument(
        "--replayed", choices=["yes", "no"], help="only letters replayed already, or not yet"
    )


def register(sub: Any) -> None:
    parser = sub.add_parser("dlq", help="inspect and re-inject dead letters")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser("list", help="a table of dead letters, newest first")
    _filters(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="one dead letter with its headers and event")
    show.add_argument("--service", help="only this service's DLQ")
    show.add_argument("--id", required=True, help="the CloudEvent id")
    show.set_defaults(func=run_show)

    replay = actions.add_parser(
        "replay", help="write dead letters back to their original topic (ids are kept)"
    )
    _filters(replay)
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", help="a CloudEvent id (repeatable)")
    which.add_argument("--all", action="store_true", help="every dead letter the filters select")
    replay.add_argument("--to-topic", help="write here instead of each record's original topic")
    replay.add_argument(
        "--dry-run", action="store_true", help="say what would be replayed; write nothing"
    )
    replay.set_defaults(func=run_replay)


def _which(args: argparse.Namespace, ids: list[str] | None = None) -> dead_letters.LetterFilter:
    params = {
        name: value
        for name in ("service", "reason", "error_class", "since", "until", "replayed")
        if (value := getattr(args, name, None))
    }
    try:
        return letter_filter(params, ids or [])
    except BadQuery as exc:
        raise HooklineError(str(exc)) from exc


def _table(letters: list[dead_letters.Letter], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    columns = ("service", "id", "type", "reason", "error", "attempts", "original", "replayed")
    for column in columns:
        table.add_column(column, overflow="fold")
    for entry in letters:
        row = entry.summary()
        error = f"{row['error_class'] or ''}: {(row['error_message'] or '')[:80]}"
        mark = entry.mark
        table.add_row(
            row["service"], row["id"], row["type"] or "-", row["reason"] or "-", error,
            row["attempts"] or "-", row["original"] or "-",
            f"replayed {mark['at']} → {mark['to_topic']}" if mark else "-",
        )  # fmt: skip
    return table


async def run_list(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    letters = await dead_letters.letters(settings, servers, _which(args))
    if args.json:
        for entry in letters:
            print(json.dumps(entry.summary(), ensure_ascii=False))
        return 0
    console = Console()
    if not letters:
        console.print("no dead letters")
        return 0
    console.print(_table(letters, f"{len(letters)} dead letter(s)"))
    return 0


def _missing(letters: list[dead_letters.Letter], ids: list[str]) -> None:
    missing = set(ids) - {entry.letter.id for entry in letters} - {e.coordinates for e in letters}
    if missing:
        raise HooklineError(f"no dead letter with id {', '.join(sorted(missing))}")


async def run_show(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    which = dead_letters.LetterFilter(service=args.service, ids=(args.id,))
    letters = await dead_letters.letters(settings, servers, which)
    _missing(letters, [args.id])
    console = Console()
    for entry in letters:
        detail = entry.detail()
        console.print(_table([entry], f"dead letter {entry.letter.id}"))
        console.print("[bold]headers[/bold]")
        for name, value in detail["headers"].items():
            console.print(f"  {name}: {value}", markup=False)
        console.print("[bold]event[/bold]")
        if detail["event"] is not None:
            console.print_json(json.dumps(detail["event"], ensure_ascii=False))
        else:
            console.print(detail["value"], markup=False)
    return 0


async def run_replay(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, embedded = bootstrap(settings.kafka)
    which = _which(args, None if args.all else args.id)
    if not args.all:
        _missing(await dead_letters.letters(settings, servers, which), args.id)
    plan = await dead_letters.replay(
        settings, servers, which, embedded=embedded, dry_run=args.dry_run,
        to_topic=args.to_topic, by="cli",
    )  # fmt: skip
    if plan.refused and not plan.replayed:
        raise HooklineError(plan.refused[0][1])
    if not plan.replayed:
        print("no dead letters to replay")
        return 0
    verb = "would replay" if plan.dry_run else "replayed"
    for entry, topic in plan.replayed:
        print(f"{verb} {entry.letter.id} → {topic}")
    for entry, why in plan.refused:
        print(f"cannot replay {entry.letter.id}: {why}")
    return 0
