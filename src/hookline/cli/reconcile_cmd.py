"""``hookline reconcile``: one reconciliation pass now, printed (docs/reconcile.md).

Reads the open entities from the store the ``reconcile`` worker keeps (Redis
with ``redis_url``; else the machine's SQLite file,
``services.reconcile.store_path``), asks each provider about those quiet for
``after_seconds`` and publishes what changed, unless ``--dry-run``, which also
lists every open entity.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from hookline.cli.common import load
from hookline.errors import ConfigError

if TYPE_CHECKING:
    from hookline.providers.reconcile import Entity


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "reconcile",
        help="ask the providers' status APIs about open entities, once",
        description=(
            "One reconciliation pass: every open entity (an SMS without its final report, a Colt "
            "order, a charging session, an OpenTable or Recreation.gov booking) quiet for its "
            "provider's after_seconds is read from the provider's status API, and a changed "
            "state is published with the id the lost callback would have had. The open entities "
            "come from Redis with redis_url, else from the SQLite file the reconcile worker "
            "keeps on this machine (services.reconcile.store_path)."
        ),
    )
    parser.add_argument(
        "--provider",
        help=(
            "only this provider (twilio, every8d, mitake, colt, shell_recharge, opentable, "
            "recreation_gov)"
        ),
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the open entities, ask and print; publish nothing, change nothing",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per finding")
    parser.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    from hookline.services.reconcile.engine import Reconciler
    from hookline.services.reconcile.worker import LazyPublisher

    settings = load(args, logging=False)
    publisher = LazyPublisher(settings)
    reconciler = Reconciler(settings, publish=publisher)
    if args.provider is not None and args.provider not in reconciler.specs:
        known = ", ".join(sorted(reconciler.specs)) or "none configured"
        raise ConfigError(f"no reconciliation for {args.provider!r} (configured: {known})")
    try:
        report = await reconciler.run_pass(args.provider, dry_run=args.dry_run)
    finally:
        await reconciler.aclose()
        await publisher.aclose()
    if args.dry_run:
        _list_open(report.entities, as_json=args.json)
    for finding in report.findings:
        if args.json:
            print(json.dumps(finding.__dict__))
        else:
            event = f"  {finding.event_type} {finding.event_id}" if finding.event_type else ""
            detail = f"  ({finding.detail})" if finding.detail else ""
            print(f"{finding.action:<13} {finding.key}  {finding.status}{event}{detail}")
    published = report.count("published") + report.count("would_publish")
    print(
        f"open: {report.open_entities}  checked: {len(report.findings)}  "
        f"{'would publish' if args.dry_run else 'published'}: {published}  "
        f"duplicate: {report.count('duplicate')}  stale: {report.count('stale')}  "
        f"errors: {report.count('error')}"
    )
    return 1 if report.count("error") else 0


def _list_open(entities: list[Entity], *, as_json: bool) -> None:
    now = time.time()
    for entity in entities:
        age, quiet = round(now - entity.opened_at), round(now - entity.last_news_at)
        if as_json:
            row: dict[str, Any] = {"action": "open", "key": entity.key, "kind": entity.kind}
            row.update(status=entity.status, age_seconds=age, quiet_seconds=quiet)
            print(json.dumps(row))
        else:
            print(
                f"{'open':<13} {entity.key}  {entity.status}  {entity.kind}  "
                f"age {age}s  quiet {quiet}s  checks {entity.checks}"
            )
