"""The ingress describes its HTTP surface as a valid OpenAPI 3.1 document, and serves it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.contracts.openapi import document
from hookline.ingress.sources import prepare_sources
from tests.support.ingress import WHSEC, running_ingress, settings_for

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_exported_openapi_is_valid_and_covers_the_routes() -> None:
    """schemas/openapi.json is valid OpenAPI 3.1 and names every route of README.md#http-surface-of-the-ingress."""
    spec = json.loads((SCHEMAS / "openapi.json").read_text())
    validate(spec)
    assert {
        "/webhooks/{source}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/admin/breakers",
        "/openapi.json",
    } <= set(spec["paths"])
    webhook = spec["paths"]["/webhooks/{source}"]["post"]["responses"]
    assert {"202", "200", "400", "401", "403", "404", "413", "415", "500", "503"} <= set(webhook)
    by_get = spec["paths"]["/webhooks/{source}"]["get"]["responses"]
    assert {"200", "202", "401", "404", "405", "500", "503"} <= set(by_get)


def test_a_broken_document_is_rejected() -> None:
    """The validator is strict enough to fail: a parameter without `in` is refused."""
    spec = document()
    del spec["paths"]["/webhooks/{source}"]["post"]["parameters"][0]["in"]
    with pytest.raises(OpenAPIValidationError):
        validate(spec)


async def test_served_openapi_lists_configured_sources(broker: EmbeddedBroker) -> None:
    """GET /openapi.json answers one path per configured source; the admin routes need the token."""
    settings = settings_for(broker.bootstrap_servers, admin_token="admin-token-123456")
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        spec = (await client.get(f"{url}/openapi.json")).json()
        unauthorized = await client.get(f"{url}/admin/sources")
        sources = await client.get(
            f"{url}/admin/sources", headers={"authorization": "Bearer admin-token-123456"}
        )
    validate(spec)
    assert {path for path in spec["paths"] if path.startswith("/webhooks/")} == {
        "/webhooks/billing",
        "/webhooks/colt",
    }
    assert unauthorized.status_code == 401
    assert sources.json()["sources"]["billing"]["scheme"] == "standard-webhooks"
    assert sources.json()["sources"]["colt"]["topic"].endswith(".events.colt")


def _served(**sources: dict[str, Any]) -> dict[str, Any]:
    settings = settings_for("127.0.0.1:9", sources=sources)
    return document(prepare_sources(settings.sources, Topics("t")))


LOCAL = {"allow_ips": ["127.0.0.1/32"]}


def test_each_source_lists_exactly_its_methods_and_content_types() -> None:
    """POST-only sources have no GET; Mitake and Twilio have both; content types are the adapter's."""
    spec = _served(
        billing={
            "provider": "standard",
            "verify": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
        },
        sms={"provider": "twilio", "verify": {"scheme": "twilio", "secrets": ["t"]}},
        dlr={
            "provider": "mitake",
            "verify": {"scheme": "token", "query_param": "token", "secrets": ["t"]},
        },
    )
    validate(spec)
    assert set(spec["paths"]["/webhooks/billing"]) == {"post"}
    assert set(spec["paths"]["/webhooks/sms"]) == {"post", "get"}
    assert set(spec["paths"]["/webhooks/dlr"]) == {"post", "get"}
    body = spec["paths"]["/webhooks/billing"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json"} and body["required"] is True
    twilio = spec["paths"]["/webhooks/sms"]["post"]["requestBody"]["content"]
    assert set(twilio) == {"application/x-www-form-urlencoded", "application/json"}
    mitake = spec["paths"]["/webhooks/dlr"]["post"]["requestBody"]
    assert set(mitake["content"]) == {"application/x-www-form-urlencoded", "text/plain"}
    assert mitake["required"] is False  # Mitake may send no Content-Type and no body


def test_statuses_follow_the_source() -> None:
    """401 only where a scheme verifies, 403 only with allow_ips; the edge's refusals and 500 everywhere; 503 says Retry-After."""
    spec = _served(
        signed={
            "provider": "standard",
            "verify": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
        },
        open={"provider": "standard", "verify": {"scheme": "none"}, **LOCAL},
    )
    signed = spec["paths"]["/webhooks/signed"]["post"]["responses"]
    open_ = spec["paths"]["/webhooks/open"]["post"]["responses"]
    edge = {"408", "431"}  # the HTTP edge's own refusals
    assert {"200", "202", "400", "401", "413", "415", "500", "503"} | edge == set(signed)
    assert {"200", "202", "400", "403", "413", "415", "500", "503"} | edge == set(open_)
    assert signed["503"]["headers"]["Retry-After"]["required"] is True
    for item in spec["paths"].values():
        for operation in item.values():
            # The server's own refusals and a crash can answer any request.
            for status in ("400", "408", "431", "500", "503"):
                assert "application/problem+json" in operation["responses"][status]["content"]
