"""`hookline run` as a user starts it, for tests: ready once it prints its Ctrl-C line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

HOOKLINE = [sys.executable, "-m", "hookline"]


def clean_environment() -> dict[str, str]:
    """This process's environment without hookline's or OpenTelemetry's own variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HOOKLINE_", "OTEL_"))}


@contextlib.contextmanager
def hookline_run(
    config: Path, env: Mapping[str, str] | None = None, printed: list[str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`hookline run --config CONFIG` until the block ends (SIGINT, then SIGKILL after 60 s);
    what it printed up to its Ctrl-C line goes to ``printed``."""
    process = subprocess.Popen(
        [*HOOKLINE, "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(env) if env is not None else clean_environment(),
    )
    assert process.stdout is not None
    try:
        lines = printed if printed is not None else []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        else:
            pytest.fail("hookline run exited before it was ready:\n" + "".join(lines))
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
