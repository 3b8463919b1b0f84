"""The ``hookline`` command line (README.md#commands).

Each command lives in its own module with a ``register(subparsers)`` function;
adding one is one module and one line in :data:`COMMANDS`. Bad input ends in
one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

from aiokafka.errors import KafkaError

from hookline import __version__
from hookline.config.loader import ConfigProblems
from hookline.errors import HooklineError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = [
    "hookline.cli.run_cmd",
    "hookline.cli.serve_cmd",
    "hookline.cli.broker_cmd",
    "hookline.cli.topics_cmd",
    "hookline.cli.tail_cmd",
    "hookline.cli.send_cmd",
    "hookline.cli.config_cmd",
    "hookline.cli.worker_cmd",
    "hookline.cli.dlq_cmd",
    "hookline.cli.reconcile_cmd",
    "hookline.cli.inspect_cmd",
    "hookline.cli.trace_cmd",
    "hookline.cli.sandbox_cmd",
    "hookline.cli.schemas_cmd",
    "hookline.cli.demo_cmd",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hookline", description="Webhooks in, CloudEvents on Kafka, actions out.")
    parser.add_argument("--version", action="version", version=f"hookline {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $HOOKLINE_CONFIG or ./hookline.yaml)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except ConfigProblems as exc:
        for problem in exc.problems:
            print(f"hookline: {problem}", file=sys.stderr)
        return 1
    except HooklineError as exc:
        print(f"hookline: {exc}", file=sys.stderr)
        return 1
    except KafkaError as exc:
        print(
            f"hookline: Kafka is not reachable ({type(exc).__name__}); is the broker running?",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"hookline: {exc.strerror or exc}", file=sys.stderr)
        return 1
