"""One `hookline run` (embedded broker, ingress, every worker and simulator) for all of tests/loop.

Starting it takes most of these tests' time, so every module shares it; a
test that needs its own process (other environment variables) starts one.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loop.test_run_loop import ENV, HOOKLINE, config_with_free_ports


@pytest.fixture(scope="package")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    config, kafka_port = config_with_free_ports(tmp_path_factory.mktemp("loop"))
    process = subprocess.Popen(
        [*HOOKLINE, "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("Ctrl-C"):
                break
        else:
            pytest.fail("hookline run exited before it was ready")
        yield config, f"127.0.0.1:{kafka_port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
