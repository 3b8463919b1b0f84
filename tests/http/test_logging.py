"""What the HTTP stack writes to the log: one line per call with the useful fields, never a secret."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import pytest

from hookline.errors import HooklineError
from hookline.http import ManualClock
from hookline.observability.logging import configure_logging
from tests.http.conftest import client_for, settings
from tests.http.fault_server import CLIENT_ID, CLIENT_SECRET, TOKEN_PATH, FaultServer, Step

SIGNING_SECRET = "signing-secret-5f4e3d2c"
API_KEY = "api-key-77aa88bb99cc"
BASIC_PASSWORD = "basic-password-3141592"
FORM_PASSWORD = "form-password-2718281"
REFRESH_TOKEN = "refresh-token-1618033"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """structlog (and stdlib logging) as JSON lines into a buffer, restored afterwards."""
    buffer = io.StringIO()
    configure_logging("debug", "json", stream=buffer)
    try:
        yield buffer
    finally:
        configure_logging("info", "json")


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


async def test_one_line_per_call_with_provider_endpoint_status_attempt_latency(
    fault: FaultServer, base_url: str, captured: io.StringIO
) -> None:
    """A call that needed a retry still logs one http.call line, with attempt 2 and its latency."""
    fault.script("/api/orders", Step(503))
    async with client_for(settings(base_url), name="colt-log", clock=ManualClock()) as client:
        await client.request("GET", "/orders", endpoint="orders.list")
    calls = [line for line in lines(captured) if line["event"] == "http.call"]
    assert len(calls) == 1
    call = calls[0]
    assert call["provider"] == "colt-log"
    assert call["endpoint"] == "orders.list"
    assert call["status"] == 200
    assert call["attempt"] == 2
    assert isinstance(call["latency_ms"], float)


async def test_no_secret_or_token_reaches_the_log(
    fault: FaultServer, base_url: str, captured: io.StringIO
) -> None:
    """Across OAuth (with a 401 refresh), API key, signing, basic and form credentials — successes and
    failures — neither a configured secret nor an issued access token appears in any log line."""
    fault.require_token = True
    oauth = {
        "type": "oauth2_client_credentials",
        "token_url": f"{base_url}{TOKEN_PATH}",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_key": {"value": API_KEY},
        "signing": {"secret": SIGNING_SECRET},
    }
    async with client_for(settings(base_url, auth=oauth)) as client:
        await client.request("POST", "/api-calls", json={"a": 1}, idempotency_key="k-1")
        fault.revoke_tokens()
        await client.request("GET", "/api-calls")
        fault.script("/api/api-calls", Step(400, json={"error": {"code": "INVALID_REQUEST"}}))
        with pytest.raises(HooklineError):
            await client.request("GET", "/api-calls")
    fault.require_token = False

    refresh = {
        "type": "oauth2_refresh_token",
        "token_url": f"{base_url}{TOKEN_PATH}",
        "client_id": CLIENT_ID,
        "client_secret": "wrong-client-secret-1",
        "refresh_token": REFRESH_TOKEN,
    }
    async with client_for(settings(base_url, auth=refresh)) as client:
        with pytest.raises(HooklineError):
            await client.request("GET", "/api-calls")

    basic = {"type": "basic", "username": "AC0001", "password": BASIC_PASSWORD}
    async with client_for(settings(base_url, auth=basic)) as client:
        await client.request("POST", "/api-calls", data={"Body": "hi"})

    form = {"type": "form_credentials", "username": "user-1", "password": FORM_PASSWORD}
    async with client_for(settings(base_url, auth=form)) as client:
        await client.request("GET", "/api-calls", params={"q": "1"})
        await client.request("POST", "/api-calls", data={"smbody": "hi"})

    text = captured.getvalue()
    assert len(fault.issued) == 2
    basic_header = base64.b64encode(f"AC0001:{BASIC_PASSWORD}".encode()).decode()
    for secret in (
        CLIENT_SECRET,
        SIGNING_SECRET,
        API_KEY,
        BASIC_PASSWORD,
        FORM_PASSWORD,
        REFRESH_TOKEN,
        basic_header,
        "wrong-client-secret-1",
        *fault.issued,
    ):
        assert secret not in text, secret
    events = {line["event"] for line in lines(captured)}
    assert {"http.call", "http.call_failed", "http.token_refreshed"} <= events
