"""``hookline dlq list|show|replay``: inspect and re-inject dead letters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from hookline.cli.common import load
from hookline.config.models import bootstrap
from hookline.errors import HooklineError
from hookline.worker import dlq


def register(sub: Any) -> None:
    parser = sub.add_parser("dlq", help="inspect and re-inject dead letters")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser("list", help="a table of dead letters")
    listing.add_argument("--service", help="only this service's DLQ (default: every DLQ topic)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="one dead letter with its headers and event")
    show.add_argument("--service", help="only this service's DLQ")
    show.add_argument("--id", required=True, help="the CloudEvent id")
    show.set_defaults(func=run_show)

    replay = actions.add_parser(
        "replay", help="write dead letters back to their original topic (ids are kept)"
    )
    replay.add_argument("--service", help="only this service's DLQ")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", help="a CloudEvent id (repeatable)")
    which.add_argument("--all", action="store_true", help="every dead letter found")
    replay.add_argument("--to-topic", help="write here instead of each record's original topic")
    replay.set_defaults(func=run_replay)


async def _letters(args: argparse.Namespace) -> list[dlq.DeadLetter]:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    topics = await dlq.dlq_topics(settings, servers, args.service)
    return await dlq.read(settings, servers, topics)


def _table(letters: list[dlq.DeadLetter], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("service", "id", "type", "reason", "error", "attempts", "first failure", "original"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        row = letter.summary()
        error = f"{row['error_class'] or ''}: {(row['error_message'] or '')[:80]}"
        table.add_row(
            row["service"], row["id"], row["type"] or "-", row["reason"] or "-", error,
            row["attempts"] or "-", row["first_failure"] or "-", row["original"] or "-",
        )
    return table


async def run_list(args: argparse.Namespace) -> int:
    letters = await _letters(args)
    if args.json:
        for letter in letters:
            print(json.dumps(letter.summary(), ensure_ascii=False))
        return 0
    console = Console()
    if not letters:
        console.print("no dead letters")
        return 0
    console.print(_table(letters, f"{len(letters)} dead letter(s)"))
    return 0


def _select(letters: list[dlq.DeadLetter], ids: list[str]) -> list[dlq.DeadLetter]:
    chosen = [letter for letter in letters if letter.id in ids]
    missing = set(ids) - {letter.id for letter in chosen}
    if missing:
        raise HooklineError(f"no dead letter with id {', '.join(sorted(missing))}")
    return chosen


async def run_show(args: argparse.Namespace) -> int:
    letters = _select(await _letters(args), [args.id])
    console = Console()
    for letter in letters:
        console.print(_table([letter], f"dead letter {letter.id}"))
        console.print("[bold]headers[/bold]")
        for name, value in letter.headers:
            console.print(f"  {name}: {value.decode(errors='replace')}", markup=False)
        console.print("[bold]event[/bold]")
        if letter.event is not None:
            console.print_json(letter.event.to_json().decode())
        else:
            console.print((letter.value or b"").decode(errors="replace"), markup=False)
    return 0


async def run_replay(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, embedded = bootstrap(settings.kafka)
    topics = await dlq.dlq_topics(settings, servers, args.service)
    letters = await dlq.read(settings, servers, topics)
    chosen = letters if args.all else _select(letters, args.id)
    if not chosen:
        print("no dead letters to replay")
        return 0
    try:
        records = [dlq.replay_record(letter, args.to_topic) for letter in chosen]
    except ValueError as exc:
        raise HooklineError(str(exc)) from exc
    await dlq.replay(settings, servers, records, embedded=embedded)
    for letter, record in zip(chosen, records, strict=True):
        print(f"replayed {letter.id} → {record.topic}")
    return 0
