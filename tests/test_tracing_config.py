"""Tracing follows the OTEL_* variables: off by default, a clear error for what is not shipped."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hookline.errors import ConfigError
from hookline.observability.tracing import configure_tracing


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
    ],
)
def test_off_unless_an_exporter_is_named(environ: dict[str, str]) -> None:
    """No exporter, ``none``, or the SDK disabled: tracing stays off."""
    assert configure_tracing("hookline-test", environ) is False


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "zipkin"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "http/protobuf"),
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "carrier-pigeon",
            },
            "carrier-pigeon",
        ),
    ],
)
def test_unsupported_choices_are_a_clear_config_error(environ: dict[str, str], words: str) -> None:
    """An exporter or protocol hookline does not ship is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=words):
        configure_tracing("hookline-test", environ)


def test_serve_with_grpc_stops_with_one_line(tmp_path: object) -> None:
    """The command line turns it into one line on stderr and exit 2, not a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "hookline", "serve"],
        env={
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "PATH": "/usr/bin:/bin",
            "HOOKLINE_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "http/protobuf" in done.stderr
