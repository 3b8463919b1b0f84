"""A real hookline ingress under uvicorn, wired to a real broker, for end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from hookline.bus.topics import all_topics
from hookline.config.check import prepare
from hookline.config.models import HooklineSettings
from hookline.ingress.app import create_app
from hookline.providers.registry import names
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.kafka import create_topics
from tests.support.servers import serve

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HMAC_SECRET = "test-colt-secret-0123456789"


def settings_for(bootstrap: str, **overrides: Any) -> HooklineSettings:
    """Settings with a unique topic prefix per test, so tests never see each other's events."""
    base: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}",
            "partitions": 3,
        },
        "server": {"max_body_bytes": 4096, "publish_timeout_seconds": 2.0},
        "sources": {
            "billing": {
                "provider": "standard",
                "verify": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
            },
            "colt": {
                "provider": "standard",
                "verify": {
                    "scheme": "hmac",
                    "header": "X-Colt-Signature",
                    "timestamp_header": "X-Colt-Timestamp",
                    "secrets": [HMAC_SECRET],
                },
            },
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    settings = HooklineSettings.model_validate(base)
    return prepare(settings, names())


@contextlib.asynccontextmanager
async def running_ingress(
    settings: HooklineSettings, *, create: bool = True, **app_options: Any
) -> AsyncIterator[str]:
    """Create the topics, then serve the ingress; yields its base URL."""
    bootstrap = settings.kafka.bootstrap_servers
    assert bootstrap is not None
    if create:
        await create_topics(bootstrap, all_topics(settings, extra_domains=settings.sources), 3)
    app = create_app(settings, bootstrap_servers=bootstrap, embedded=True, **app_options)
    async with serve(app) as url:
        yield url


def signed_invoice(
    settings: HooklineSettings, source: str = "billing"
) -> tuple[bytes, dict[str, str]]:
    """A fresh ``invoice.paid`` delivery signed for ``source`` (Standard Webhooks): body, headers."""
    body = json.dumps(
        {"type": "invoice.paid", "data": {"id": f"inv_{uuid.uuid4().hex[:8]}"}}
    ).encode()
    request = SignedRequest(
        body=body,
        headers=Headers(
            {"content-type": "application/json", "webhook-id": f"msg_{uuid.uuid4().hex}"}
        ),
    )
    signed = build_scheme(settings.sources[source].verify).sign(request, time.time())
    return body, dict(signed.headers)
