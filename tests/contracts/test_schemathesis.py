"""Schemathesis, every check on, finds nothing against a running `hookline serve`: the document is exact."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.bus.topics import all_topics
from hookline.config.models import HooklineSettings
from tests.contracts.schemathesis_hooks import SOURCES_VARIABLE
from tests.support.kafka import create_topics
from tests.support.processes import ENV, Hookline

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "admin-token-schemathesis-0123"
LOCAL = {"allow_ips": ["127.0.0.1/32"]}

# One source per shape the document can take: every scheme, POST-only and POST+GET,
# JSON, form, text and bare bodies, with and without allow_ips.
SOURCES: dict[str, dict[str, Any]] = {
    "open": {"provider": "standard", "verify": {"scheme": "none"}, **LOCAL},
    "billing": {
        "provider": "standard",
        "verify": {
            "scheme": "standard-webhooks",
            "secrets": ["whsec_" + "c2NoZW1hdGhlc2lzLXN0YW5kYXJkLXdlYmhvb2tz"],
        },
    },
    "colt": {
        "provider": "colt",
        "verify": {
            "scheme": "hmac",
            "header": "X-Colt-Signature",
            "timestamp_header": "X-Colt-Timestamp",
            "secrets": ["colt-secret"],
        },
    },
    "payments": {
        "provider": "stripe",
        "verify": {"scheme": "stripe", "secrets": ["whsec_stripe_schemathesis"]},
    },
    "repo": {"provider": "github", "verify": {"scheme": "github", "secrets": ["github-secret"]}},
    "chat": {
        "provider": "slack",
        "verify": {"scheme": "slack", "secrets": ["slack-signing-secret"]},
    },
    "shop": {"provider": "shopify", "verify": {"scheme": "shopify", "secrets": ["shopify-secret"]}},
    "sms-twilio": {
        "provider": "twilio",
        "verify": {"scheme": "twilio", "secrets": ["twilio-auth-token"]},
        **LOCAL,
    },
    "mitake-dlr": {
        "provider": "mitake",
        "verify": {"scheme": "token", "query_param": "token", "secrets": ["mitake-token"]},
    },
    "every8d-dlr": {
        "provider": "every8d",
        "verify": {"scheme": "token", "header": "X-Token", "secrets": ["every8d-token"]},
    },
}
# Enough examples per operation to reach every answer, few enough for a loaded 2-core box.
MAX_EXAMPLES = "25"
# What a delivery that passed verification ends as.
DECIDED = {"accepted", "dead_lettered", "duplicate"}


async def _decided(url: str) -> Counter[str]:
    """Deliveries past verification per source, from the ingress's own /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "hookline_ingress_requests_total"
                and sample.labels["outcome"] in DECIDED
            ):
                counts[sample.labels["source"]] += int(sample.value)
    return counts


async def test_schemathesis_with_all_checks_finds_no_failure(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """Every check of schemathesis, on every operation `hookline serve` documents, passes."""
    port = free_port()
    raw = {
        "server": {"host": "127.0.0.1", "port": port, "max_body_bytes": 4096},
        "kafka": {
            "bootstrap_servers": broker.bootstrap_servers,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}",
        },
        "admin_token": ADMIN_TOKEN,
        "sources": SOURCES,
        "observability": {"log_level": "warning"},
    }
    settings = HooklineSettings.model_validate(raw)
    await create_topics(broker.bootstrap_servers, all_topics(settings, extra_domains=SOURCES), 3)
    config = tmp_path / "hookline.yaml"
    config.write_text(json.dumps(raw))  # JSON is YAML
    env = {
        **ENV,
        "SCHEMATHESIS_HOOKS": "tests.contracts.schemathesis_hooks",
        SOURCES_VARIABLE: json.dumps({name: source["verify"] for name, source in SOURCES.items()}),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    url = f"http://127.0.0.1:{port}"
    server = Hookline(tmp_path, "serve", config=config)
    try:
        await asyncio.to_thread(server.wait_for_port, port)
        before = await _decided(url)
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{url}/openapi.json",
            "--checks=all",
            f"--max-examples={MAX_EXAMPLES}",
            "--workers=1",
            "--request-timeout=30",
            "--no-color",
            f"--header=Authorization: Bearer {ADMIN_TOKEN}",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        reached = await _decided(url) - before
    finally:
        server.close()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report
    assert "Failures:" not in report, report
    # The hooks signed well enough for schema-valid requests to reach every adapter.
    assert set(reached) == set(SOURCES), (reached, report)
