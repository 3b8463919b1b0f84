"""``hookline schemas export DIR``: JSON Schemas of every type and the AsyncAPI document."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hookline.contracts.export import export


def register(sub: Any) -> None:
    parser = sub.add_parser("schemas", help="contracts for downstream teams")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    cmd = actions.add_parser("export", help="write JSON Schemas and the AsyncAPI document to DIR")
    cmd.add_argument("directory", metavar="DIR")
    cmd.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    written = export(Path(args.directory))
    print(f"wrote {len(written)} files to {args.directory}")
    return 0
