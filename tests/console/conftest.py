"""One `hookline run` (the shipped development configuration on free ports) and one headless
Chromium for every console test; screenshots go to an artifacts folder printed at the end."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.devconfig import write_on_free_ports
from tests.support.processes import ENV, HOOKLINE
from tests.support.run import hookline_run

_ARTIFACTS: list[Path] = []


@dataclass
class Running:
    """A running `hookline run`: where it listens and what it printed."""

    config: Path
    base: str
    login_link: str
    token: str
    kafka: str
    sims: dict[str, str]
    output: str

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HOOKLINE, "--config", str(self.config), *args],
            capture_output=True, text=True, timeout=timeout, env=ENV, check=False,
        )  # fmt: skip


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`hookline run` as a user starts it, with no admin token configured (it makes one up)."""
    folder = tmp_path_factory.mktemp("console-run")
    config, kafka_port = write_on_free_ports(folder)
    printed: list[str] = []
    with hookline_run(config, env=ENV, printed=printed):
        output = "".join(printed)
        link = re.search(r"console\s+(http://\S+/console/login\?token=(\S+))", output)
        assert link is not None, output
        yield Running(
            config=config,
            base=link.group(1).split("/console")[0],
            login_link=link.group(1),
            token=link.group(2),
            kafka=f"127.0.0.1:{kafka_port}",
            sims=dict(re.findall(r"sim (\w+)\s+(http://\S+)", output)),
            output=output,
        )


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the screenshots go (printed in the test summary): $HOOKLINE_TEST_ARTIFACTS, else
    a fixed folder under the system's temporary directory, emptied first."""
    root = os.environ.get("HOOKLINE_TEST_ARTIFACTS") or str(
        Path(tempfile.gettempdir()) / "hookline-artifacts"
    )
    folder = Path(root) / "console"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    _ARTIFACTS.append(folder)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium from the operating system's packages, driven by Selenium offline."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.fail("chromium and chromedriver are needed: make test installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    # Naming the driver keeps Selenium Manager from looking for one on the network.
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in _ARTIFACTS:
        shots = sorted(p.name for p in folder.glob("*.png"))
        if shots:
            terminalreporter.write_line(f"console screenshots ({len(shots)}): {folder}")
