"""``hookline reconcile``: one reconciliation pass now, printed (docs/reconcile.md).

Reads the open entities from the shared store (``redis_url``; without it the
entities live inside the worker process and this command sees none), asks each
provider about those quiet for ``after_seconds`` and publishes what changed,
unless ``--dry-run``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hookline.cli.common import load
from hookline.errors import ConfigError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "reconcile", help="ask the providers' status APIs about open entities, once"
    )
    parser.add_argument(
        "--provider", help="only this provider (twilio, every8d, mitake, colt, shell_recharge)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="ask and print; publish nothing, change nothing"
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
