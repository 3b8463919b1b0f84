"""The ingress describes its HTTP surface as a valid OpenAPI 3.1 document, and serves it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from hookline.bus.broker import EmbeddedBroker
from hookline.contracts.openapi import document
from tests.support.ingress import running_ingress, settings_for

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_exported_openapi_is_valid_and_covers_the_routes() -> None:
    """schemas/openapi.json is valid OpenAPI 3.1 and names every route of DESIGN §5."""
    spec = json.loads((SCHEMAS / "openapi.json").read_text())
    validate(spec)
    assert {"/webhooks/{source}", "/healthz", "/readyz", "/metrics", "/admin/breakers", "/openapi.json"} <= set(spec["paths"])
    webhook = spec["paths"]["/webhooks/{source}"]["post"]["responses"]
    assert {"202", "200", "400", "401", "403", "404", "413", "415", "503"} <= set(webhook)
    by_get = spec["paths"]["/webhooks/{source}"]["get"]["responses"]
    assert {"200", "202", "401", "404", "405", "503"} <= set(by_get)


def test_a_broken_document_is_rejected() -> None:
    """The validator is strict enough to fail: a parameter without `in` is refused."""
    spec = document()
    del spec["paths"]["/webhooks/{source}"]["post"]["parameters"][0]["in"]
    with pytest.raises(OpenAPIValidationError):
        validate(spec)


async def test_served_openapi_lists_configured_sources(broker: EmbeddedBroker) -> None:
    """GET /openapi.json answers the document with the configured sources as the {source} enum."""
    settings = settings_for(broker.bootstrap_servers, admin_token="admin-token-123456")
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        spec = (await client.get(f"{url}/openapi.json")).json()
        unauthorized = await client.get(f"{url}/admin/sources")
        sources = await client.get(f"{url}/admin/sources", headers={"authorization": "Bearer admin-token-123456"})
    validate(spec)
    parameter = spec["paths"]["/webhooks/{source}"]["post"]["parameters"][0]
    assert parameter["schema"]["enum"] == ["billing", "colt"]
    assert unauthorized.status_code == 401
    assert sources.json()["sources"]["billing"]["scheme"] == "standard-webhooks"
    assert sources.json()["sources"]["colt"]["topic"].endswith(".events.colt")
