"""The command line as a user drives it: run, send, tail, topics, config check, bad input."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookline.bus.broker import EmbeddedBroker, free_port

HOOKLINE = [sys.executable, "-m", "hookline"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}


def cli(
    *args: str, config: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    flags = ["--config", str(config)] if config else []
    return subprocess.run(
        [*HOOKLINE, *flags, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )


def dev_config(
    tmp_path: Path, kafka_port: int, http_port: int, bootstrap: str | None = None
) -> Path:
    repo_config = Path(__file__).resolve().parents[2] / "hookline.yaml"
    text = repo_config.read_text()
    text = text.replace("port: 8000", f"port: {http_port}").replace(
        "127.0.0.1:8000", f"127.0.0.1:{http_port}"
    )
    kafka = f"bootstrap_servers: {bootstrap}" if bootstrap else "bootstrap_servers: null"
    text = text.replace("bootstrap_servers: null", f"{kafka}\n  embedded_port: {kafka_port}")
    path = tmp_path / "hookline.yaml"
    path.write_text(text)
    return path


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, int]]:
    kafka_port, http_port = free_port(), free_port()
    config = dev_config(tmp_path, kafka_port, http_port)
    process = subprocess.Popen(
        [*HOOKLINE, "--config", str(config), "run", "--no-sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    try:
        yield process, config, kafka_port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_run_prints_parts_and_a_send_line_that_tail_shows(
    running: tuple[subprocess.Popen[str], Path, int],
) -> None:
    """`hookline run` prints where parts listen and a try-it line; the event shows in `tail`."""
    process, _config, kafka_port = running
    assert process.stdout is not None
    lines = []
    while True:
        line = process.stdout.readline()
        assert line, "hookline run exited early"
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    output = "".join(lines)
    assert f"127.0.0.1:{kafka_port}" in output and "ingress" in output
    send_lines = [ln for ln in lines if ln.startswith(("try it:", "   or:")) and " send " in ln]
    assert send_lines, output
    try_line = send_lines[0].split(":", 1)[1].strip()
    send, tail = (part.strip().split() for part in try_line.split("&&"))
    assert send[0] == "hookline" and tail[0] == "hookline"
    sent = cli(*send[1:])
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("202 ")
    event_id = json.loads(sent.stdout.split(" ", 1)[1])["id"]
    shown = cli(*tail[1:], "--timeout", "20")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.splitlines()[0])["id"] == event_id
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    deadline = time.monotonic() + 5
    while listening(kafka_port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listening(kafka_port), "the embedded broker outlived hookline run"


def test_topics_create_reports_each_topic(tmp_path: Path, broker: EmbeddedBroker) -> None:
    """topics create lists created topics, then reports them as existing on a second run."""
    config = dev_config(tmp_path, free_port(), free_port(), bootstrap=broker.bootstrap_servers)
    config.write_text(
        config.read_text().replace("topic_prefix: hookline", "topic_prefix: clitopics")
    )
    first = cli("topics", "create", config=config)
    assert first.returncode == 0, first.stderr
    assert "created  clitopics.events.sms" in first.stdout
    assert "created  clitopics.dlq.ingress" in first.stdout
    second = cli("topics", "create", config=config)
    assert second.returncode == 0 and "exists   clitopics.events.sms" in second.stdout


def test_config_check_ok_and_problems(tmp_path: Path) -> None:
    """config check prints ok with a summary, or each problem with its path and exits 1."""
    good = cli(
        "config", "check", "--config", str(Path(__file__).resolve().parents[2] / "hookline.yaml")
    )
    assert good.returncode == 0
    assert good.stdout.startswith("ok: ") and "source billing: provider standard" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  colt:\n    provider: standard\n    verify: {scheme: hmac, header: X, secrets: [env:COLT_WEBHOOK_SECRET]}\n"
    )
    result = cli("config", "check", "--config", str(bad))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "sources.colt.verify.secrets[0]: environment variable COLT_WEBHOOK_SECRET is not set"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["send", "nosuchsource"],
        ["--config", "/nonexistent.yaml", "serve"],
        ["tail", "--count", "x"],
    ],
)
def test_bad_input_is_one_line_without_traceback(args: list[str]) -> None:
    """Bad input to any command gives one clear stderr line and a non-zero exit."""
    result = cli(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["topics", "create"],
        ["tail", "--timeout", "2"],
        ["demo", "--timeout", "2"],
        ["trace", "some-id"],
    ],
)
def test_unreachable_kafka_is_one_line(tmp_path: Path, command: list[str]) -> None:
    """A command that needs Kafka says so in one line when none is there."""
    config = dev_config(tmp_path, free_port(), free_port(), bootstrap=f"127.0.0.1:{free_port()}")
    env_result = subprocess.run(
        [*HOOKLINE, "--config", str(config), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={**ENV, "HOOKLINE_KAFKA__REQUEST_TIMEOUT_MS": "2000"},
        check=False,
    )
    assert env_result.returncode == 1
    assert "Traceback" not in env_result.stderr
    assert len(env_result.stderr.strip().splitlines()) == 1, env_result.stderr
