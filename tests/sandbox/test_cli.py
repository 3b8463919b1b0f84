"""``hookline sandbox`` as a user runs it: a real process, real ports, Ctrl-C."""

from __future__ import annotations

import argparse
import functools
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hookline.cli import sandbox_cmd
from hookline.cli.sandbox_cmd import build_components, sandbox_components, with_ingress_url
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError
from hookline.providers.simulators import DEFAULT_PORTS, SIMULATORS, simulator_settings
from tests.sandbox import widgets

REPO = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
# One secret that every scheme accepts (a valid whsec_ for standard-webhooks).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The real CLI with only the example widgets simulator registered.
WIDGETS_ONLY = (
    "import sys; from hookline.providers import simulators; from hookline.lazy import lazy; "
    "simulators.SIMULATORS.clear(); "
    "simulators.SIMULATORS['widgets'] = lazy('tests.sandbox.widgets:create_app'); "
    "from hookline.cli import main; sys.exit(main(sys.argv[1:]))"
)
LINE = re.compile(r"^\s+sim (\S+)\s+(http://\S+)$")


def write_config(tmp_path: Path, providers: dict[str, dict[str, Any]]) -> Path:
    path = tmp_path / "hookline.yaml"
    path.write_text(
        yaml.safe_dump({"sandbox": {"ingress_url": "http://127.0.0.1:9", "providers": providers}})
    )
    return path


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    # stderr (JSON logs) goes to a file: a full pipe would stall the process.
    with log.open("wb") as err:
        return subprocess.Popen(args, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=err)


def read_table(process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> dict[str, str]:
    """The simulators and URLs the command printed, up to its Ctrl-C line."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    output = b""
    while time.monotonic() < deadline and b"Ctrl-C" not in output:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    if b"Ctrl-C" not in output:
        process.kill()
        process.wait()
        process.stdout.close()
        raise AssertionError(f"sandbox did not come up: {output!r} {log.read_text()[-2000:]}")
    lines = output.decode().splitlines()
    return {m.group(1): m.group(2) for line in lines if (m := LINE.match(line))}


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_sandbox_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """The command prints where each simulator listens, serves it there, and exits 0 on Ctrl-C."""
    config = write_config(tmp_path, {"widgets": {"port": 0, "tick_ms": 60000}})
    log = tmp_path / "stderr.log"
    process = start([sys.executable, "-c", WIDGETS_ONLY, "--config", str(config), "sandbox"], log)
    try:
        table = read_table(process, log)
        assert list(table) == ["widgets"]
        state = httpx.get(f"{table['widgets']}/_sim/state", timeout=5).json()
        assert state["provider"] == "widgets"
        created = httpx.post(f"{table['widgets']}/v1/widgets", json={}, timeout=5)
        assert created.status_code == 201
    finally:
        code = stop(process)
    assert code == 0


def test_every_registered_simulator_starts(tmp_path: Path) -> None:
    """Every simulator in the registry starts under ``hookline sandbox`` and answers its admin API."""
    if not SIMULATORS:
        pytest.skip("no provider simulator is registered yet")
    config = write_config(
        tmp_path, {key: {"port": 0, "callback_secret": SECRET} for key in SIMULATORS}
    )
    log = tmp_path / "stderr.log"
    process = start([sys.executable, "-m", "hookline", "--config", str(config), "sandbox"], log)
    try:
        table = read_table(process, log)
        assert sorted(table) == sorted(SIMULATORS)
        for key, url in table.items():
            response = httpx.get(f"{url}/_sim/state", timeout=5)
            assert response.status_code == 200, key
            assert response.json()["provider"] == key
    finally:
        code = stop(process)
    assert code == 0


def test_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    """A simulator port already in use ends the command with one line naming the setting."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(tmp_path, {"widgets": {"port": port}})
        result = subprocess.run(
            [sys.executable, "-c", WIDGETS_ONLY, "--config", str(config), "sandbox"],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"hookline: cannot start the widgets simulator: 127.0.0.1:{port} is in use "
        "(set sandbox.providers.widgets.port)"
    ]


def test_unknown_simulator_is_one_clear_line(tmp_path: Path) -> None:
    """``--only`` with a simulator nobody registered ends with one line listing the known ones."""
    config = write_config(tmp_path, {})
    result = subprocess.run(
        [sys.executable, "-c", WIDGETS_ONLY, "--config", str(config), "sandbox", "--only", "nope"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "hookline: no simulator for nope (registered: widgets)"
    ]


def test_run_components_follow_no_sandbox() -> None:
    """``hookline run`` gets one component per registered simulator, and none with --no-sandbox."""
    settings = HooklineSettings.model_validate(
        {
            "sandbox": {
                "providers": {key: {"port": 0, "callback_secret": SECRET} for key in SIMULATORS}
            }
        }
    )
    assert sandbox_components(settings, argparse.Namespace(no_sandbox=True)) == []
    components = sandbox_components(settings, argparse.Namespace(no_sandbox=False))
    assert [c.name for c in components] == [f"sim {key}" for key in SIMULATORS]


def test_default_ports_follow_the_provider_table() -> None:
    """Simulators without configuration listen on the ports of docs/providers/simulators.md#ports-and-callback-sources."""
    settings = HooklineSettings()
    assert {key: simulator_settings(settings, key).port for key in DEFAULT_PORTS} == {
        "colt": 8101,
        "twilio": 8102,
        "every8d": 8103,
        "mitake": 8104,
        "opentable": 8105,
        "recreation_gov": 8106,
        "shell_recharge": 8107,
    }
    configured = HooklineSettings.model_validate(
        {"sandbox": {"providers": {"colt": {"port": 9101}}}}
    )
    assert simulator_settings(configured, "colt").port == 9101


def test_callback_secret_and_url_come_from_the_receiving_source() -> None:
    """Without callback_secret a simulator signs with its source's first secret; configured values win."""
    source = {
        "provider": "colt",
        "verify": {
            "scheme": "hmac",
            "header": "X-Colt-Signature",
            "secrets": ["from-source-1", "old"],
        },
    }
    by_default_name = HooklineSettings.model_validate({"sources": {"colt": source}})
    sim = simulator_settings(by_default_name, "colt")
    assert sim.callback_secret is not None
    assert sim.callback_secret.get() == "from-source-1"
    assert sim.callback_url is None  # the simulator's own default, /webhooks/colt

    renamed = HooklineSettings.model_validate(
        {"sources": {"colt-eu": source}, "sandbox": {"ingress_url": "http://127.0.0.1:8000/"}}
    )
    sim = simulator_settings(renamed, "colt")
    assert sim.callback_url == "http://127.0.0.1:8000/webhooks/colt-eu"
    assert sim.port == 8101

    explicit = HooklineSettings.model_validate(
        {
            "sources": {"colt": source},
            "sandbox": {
                "providers": {
                    "colt": {"port": 0, "callback_secret": "mine", "callback_url": "http://x/y"}
                }
            },
        }
    )
    sim = simulator_settings(explicit, "colt")
    assert sim.callback_secret is not None
    assert (sim.callback_secret.get(), sim.callback_url, sim.port) == ("mine", "http://x/y", 0)
    assert simulator_settings(HooklineSettings(), "colt").callback_secret is None


def test_run_skips_an_unconfigured_simulator_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hookline run`` leaves out a simulator it cannot configure and says so; ``sandbox`` refuses."""
    registry = {
        "widgets": functools.partial(widgets.create_app, require_secret=True),
        "gadgets": widgets.create_app,
    }
    monkeypatch.setattr(sandbox_cmd, "SIMULATORS", registry)
    settings = HooklineSettings.model_validate(
        {"sandbox": {"providers": {"widgets": {"port": 0}, "gadgets": {"port": 0}}}}
    )
    components = sandbox_components(settings, argparse.Namespace(no_sandbox=False))
    assert [c.name for c in components] == ["sim gadgets"]
    assert capsys.readouterr().err.strip() == (
        "hookline: widgets simulator not started: sandbox.providers.widgets.callback_secret is not set"
    )
    with pytest.raises(ConfigError, match="cannot start the widgets simulator"):
        build_components(settings)


def test_callbacks_follow_the_ingress_port_unless_configured() -> None:
    """Without ``sandbox.ingress_url`` callbacks go to the ingress at server.host:server.port."""
    derived = with_ingress_url(
        HooklineSettings.model_validate({"server": {"host": "0.0.0.0", "port": 8600}})
    )
    assert derived.sandbox.ingress_url == "http://127.0.0.1:8600"
    explicit = HooklineSettings.model_validate(
        {"server": {"port": 8600}, "sandbox": {"ingress_url": "http://hooks.internal:9000"}}
    )
    assert with_ingress_url(explicit).sandbox.ingress_url == "http://hooks.internal:9000"
