"""``hookline events``, ``hookline rejected`` and ``hookline breakers``: the console's views
from a terminal (docs/console.md).

Events and rejected requests are read from Kafka with the console's own
functions (:mod:`hookline.admin`). Breakers live in the running server's
memory (or Redis), so ``hookline breakers`` asks the server's ``/admin/breakers``
with the admin token.
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

from hookline.admin import events, rejected
from hookline.admin.queries import BadQuery, event_query
from hookline.cli.common import ingress_url, load
from hookline.config.models import bootstrap
from hookline.errors import HooklineError


def register(sub: Any) -> None:
    _register_events(sub)
    _register_rejected(sub)
    _register_breakers(sub)


def _register_events(sub: Any) -> None:
    parser = sub.add_parser("events", help="search events and commands on Kafka, follow one")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="events and commands, newest first")
    listing.add_argument("--q", help="an id, provider event id or subject")
    for name in ("type", "source", "subject", "providereventid"):
        listing.add_argument(
            f"--{name}", help=f"only this {name}" + (" (prefix)" if name == "type" else "")
        )
    listing.add_argument("--kind", choices=["events", "commands"])
    listing.add_argument("--since", help="ISO time or an age like 15m, 2h, 1d")
    listing.add_argument("--until", help="ISO time")
    listing.add_argument("--limit", default="50")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_events)
    show = actions.add_parser("show", help="one event with its causation chain")
    show.add_argument("id", help="the CloudEvent id")
    show.set_defaults(func=run_event)


def _register_rejected(sub: Any) -> None:
    parser = sub.add_parser("rejected", help="requests the ingress refused, and why")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="the newest rejected requests per source")
    listing.add_argument("--source")
    listing.add_argument("--reason", choices=sorted(rejected.REASONS))
    listing.add_argument("--limit", type=int, default=20, help="per source (default 20)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_rejected)


def _register_breakers(sub: Any) -> None:
    parser = sub.add_parser("breakers", help="circuit breakers of a running server")
    parser.add_argument("--url", help="the ingress (default: from the configuration)")
    parser.add_argument("--token", help="the admin token (default: admin_token)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="every breaker and its state").set_defaults(func=run_breakers)
    reset = actions.add_parser("reset", help="close one breaker")
    reset.add_argument("name", help="the provider's name")
    reset.set_defaults(func=run_breaker_reset)


async def run_events(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    params = {k: v for k in ("q", "type", "source", "subject", "providereventid", "kind", "since",
                             "until", "limit") if (v := getattr(args, k))}  # fmt: skip
    try:
        query = event_query(params)
    except BadQuery as exc:
        raise HooklineError(str(exc)) from exc
    page = await events.search(settings, servers, query)
    if args.json:
        for found in page.items:
            print(json.dumps(found.row(), ensure_ascii=False))
        return 0
    title = f"{page.total} match(es) among the newest {page.scanned} records"
    table = Table(title=title if page.filtered else "newest first")
    for column in ("time", "type", "source", "subject", "id", "kafka"):
        table.add_column(column, overflow="fold")
    for found in page.items:
        row = found.row()
        table.add_row(
            row["time"], row["type"], row["source"], row["subject"] or "-", row["id"],
            found.coordinates,
        )  # fmt: skip
    Console().print(table)
    return 0


async def run_event(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    found, chain = await events.event_by_id(settings, servers, args.id)
    if found is None:
        raise HooklineError(f"no event or command with id {args.id}")
    console = Console()
    console.print(f"[bold]{found.attribute('type')}[/bold] at {found.coordinates}")
    console.print_json(json.dumps(found.detail()["envelope"], ensure_ascii=False))
    for ancestor in reversed(chain.ancestors):
        console.print(f"caused by  {ancestor.attribute('type')} {ancestor.id}", markup=False)
    for depth, child in chain.descendants:
        console.print(f"{'  ' * depth}caused  {child.attribute('type')} {child.id}", markup=False)
    return 0


async def run_rejected(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    servers, _ = bootstrap(settings.kafka)
    found = await rejected.recent_rejections(
        settings, servers, source=args.source, reason=args.reason, per_source=args.limit
    )
    if args.json:
        for rejection in found:
            print(json.dumps(rejection.as_dict(), ensure_ascii=False))
        return 0
    if not found:
        print("no rejected requests")
        return 0
    table = Table(title=f"{len(found)} rejected request(s)")
    for column in ("time", "source", "status", "reason", "client", "request"):
        table.add_column(column, overflow="fold")
    for r in found:
        reason = r.explained + (f" ({r.detail})" if r.detail else "")
        table.add_row(
            r.time, r.source, str(r.status), reason, r.client or "-", f"{r.method} {r.path}"
        )
    Console().print(table)
    return 0


def _admin(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    settings = load(args, logging=False)
    token = args.token or (settings.admin_token.get() if settings.admin_token else None)
    if not token:
        raise HooklineError("no admin token: pass --token or set admin_token")
    return (args.url or ingress_url(settings)).rstrip("/"), {"authorization": f"Bearer {token}"}


def _answer(response: httpx.Response) -> Any:
    if response.status_code == 401:
        raise HooklineError("the server refused the admin token")
    if response.status_code == 404:
        raise HooklineError(response.json().get("detail", "not found"))
    response.raise_for_status()
    return response.json()


async def run_breakers(args: argparse.Namespace) -> int:
    url, headers = _admin(args)
    async with httpx.AsyncClient(timeout=10) as client:
        body = _answer(await client.get(f"{url}/admin/breakers", headers=headers))
    if not body["breakers"]:
        print("no breakers yet")
    for b in body["breakers"]:
        print(f"{b['name']:<16} {b['state']:<10} failures in a row: {b['consecutive_failures']}")
    return 0


async def run_breaker_reset(args: argparse.Namespace) -> int:
    url, headers = _admin(args)
    async with httpx.AsyncClient(timeout=10) as client:
        path = f"/admin/breakers/{quote(args.name, safe='')}/reset"
        body = _answer(await client.post(f"{url}{path}", headers=headers))
    print(f"{body['breaker']['name']} is {body['breaker']['state']}")
    return 0
