"""One `hookline run` (embedded broker, ingress, every worker and simulator) for all of tests/loop.

Starting it takes most of these tests' time, so every module shares it; a
test that needs its own process (other environment variables) starts one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loop.test_run_loop import ENV
from tests.support.devconfig import write_on_free_ports
from tests.support.run import hookline_run


@pytest.fixture(scope="package")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    config, kafka_port = write_on_free_ports(tmp_path_factory.mktemp("loop"))
    with hookline_run(config, ENV):
        yield config, f"127.0.0.1:{kafka_port}"
