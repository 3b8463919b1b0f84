"""`hookline sign` prints what the provider would send; `hookline send` posts it with fresh delivery ids."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from twilio.request_validator import RequestValidator

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics, all_topics
from hookline.cli import main
from hookline.config.loader import load_settings
from hookline.ingress.app import create_app
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.kafka import consume_all, create_topics
from tests.support.servers import serve

PUBLIC = "https://hooks.example.com"


def write_config(tmp_path: Path, bootstrap: str = "127.0.0.1:1") -> Path:
    config = {
        "server": {"public_base_url": PUBLIC},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}",
            "partitions": 3,
        },
        "sources": {
            "gh": {"provider": "github", "verify": {"scheme": "github", "secrets": ["gh-secret"]}},
            "sms-twilio": {
                "provider": "twilio",
                "verify": {"scheme": "twilio", "secrets": ["tw-token"]},
            },
            "pay": {"provider": "stripe", "verify": {"scheme": "stripe", "secrets": ["whsec_cli"]}},
        },
    }
    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def parse_sign_output(text: str) -> tuple[str, dict[str, str], bytes | None]:
    head, _, body = text.partition("\n\n")
    lines = head.strip().splitlines()
    url = lines[0].removeprefix("POST ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return url, headers, body.strip().encode() if body.strip() else None


def test_sign_prints_verifiable_github_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The printed X-Hub-Signature-256 verifies the sample, and GitHub's delivery headers are there."""
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sign", "gh", "push"]) == 0
    url, headers, _ = parse_sign_output(capsys.readouterr().out)
    assert url == f"{PUBLIC}/webhooks/gh"
    assert headers["x-github-event"] == "push" and headers["x-github-delivery"]
    from hookline.providers.registry import PROVIDERS

    body = next(s.body for s in PROVIDERS["github"].samples() if s.name == "push")
    settings = load_settings(config)
    build_scheme(settings.sources["gh"].verify).verify(
        SignedRequest(body=body, headers=Headers(headers), url=url), time.time()
    )


def test_sign_prints_the_twilio_url_the_signature_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """For Twilio the public URL is printed, and Twilio's own validator accepts the signature over it."""
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sign", "sms-twilio", "delivered"]) == 0
    url, headers, _ = parse_sign_output(capsys.readouterr().out)
    assert url == f"{PUBLIC}/webhooks/sms-twilio"
    from urllib.parse import parse_qsl

    from hookline.providers.registry import PROVIDERS

    body = next(s.body for s in PROVIDERS["twilio"].samples() if s.name == "delivered")
    assert RequestValidator("tw-token").validate(
        url, dict(parse_qsl(body.decode(), keep_blank_values=True)), headers["x-twilio-signature"]
    )


def test_sign_unknown_source_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown source ends with one line on stderr and exit 1, no traceback."""
    assert main(["--config", str(write_config(tmp_path)), "sign", "nope", "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown source 'nope'" in err


async def test_send_count_posts_fresh_deliveries_and_prints_a_summary(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    """--count 6: six distinct Stripe events published (fresh event ids), summary says 6 × 2xx."""
    config = write_config(tmp_path, broker.bootstrap_servers)
    settings = load_settings(config)
    await create_topics(
        broker.bootstrap_servers, all_topics(settings, extra_domains=settings.sources), 3
    )
    app = create_app(settings, bootstrap_servers=broker.bootstrap_servers, embedded=True)
    async with serve(app) as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hookline",
            "--config",
            str(config),
            "send",
            "pay",
            "--count",
            "6",
            "--rate",
            "200",
            "--concurrency",
            "3",
            "--url",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert (
        summary["sent"] == 6 and summary["2xx"] == 6 and summary["4xx"] == 0 and summary["5xx"] == 0
    )
    assert summary["p50_ms"] > 0 and summary["p99_ms"] >= summary["p50_ms"]
    records = await consume_all(
        broker.bootstrap_servers, Topics(settings.kafka.topic_prefix).events("pay"), expect=6
    )
    assert len({json.loads(r.value)["providereventid"] for r in records}) == 6
