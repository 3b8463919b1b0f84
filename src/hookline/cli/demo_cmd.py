"""``hookline demo [SCENARIO]``: drive a scripted scenario through the running loop."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from hookline.cli.common import load
from hookline.demo import scenarios
from hookline.demo.runner import Run, Step
from hookline.errors import ConfigError


def register(sub: Any) -> None:
    names = ", ".join(name for name, _ in scenarios.describe())
    parser = sub.add_parser("demo", help=f"play a scenario through the running loop ({names})")
    parser.add_argument("scenario", nargs="?", default="colt-order", help=f"one of: {names}")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each step")
    parser.set_defaults(func=run)


def _print(step: Step) -> None:
    print(f"  +{step.elapsed:6.2f}s  {step.label:<44} {step.detail}", flush=True)


async def run(args: argparse.Namespace) -> int:
    if args.scenario not in scenarios.SCENARIOS:
        known = ", ".join(scenarios.SCENARIOS)
        raise ConfigError(f"unknown scenario {args.scenario!r} (known: {known})")
    settings = load(args, logging=False)
    play = scenarios.get(args.scenario)
    print(f"demo {args.scenario}: {dict(scenarios.describe())[args.scenario]}", flush=True)
    started = time.perf_counter()
    async with Run(settings, _print, timeout=args.timeout) as loop:
        summary = await play(loop)
        steps = len(loop.steps)
    elapsed = time.perf_counter() - started
    print(f"done: {summary} — {steps} steps in {elapsed:.1f}s", flush=True)
    sys.stdout.flush()
    return 0
