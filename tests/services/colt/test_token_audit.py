"""Access-token fetches are outbound calls like any other: audited and logged under the command,
never with the secret or the token (real Colt simulator token endpoint, real worker runtime)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hookline.envelope import CloudEvent
from hookline.observability.logging import configure_logging
from tests.providers.colt.conftest import CLIENT_ID, CLIENT_SECRET, StartColt
from tests.services.colt.conftest import running_worker
from tests.services.colt.test_workflow import QUOTE, answer
from tests.support.kafka import consume_all

TOKEN_PATH = "/auth/token"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("info", "json", stream=buffer)
    try:
        yield buffer
    finally:
        configure_logging("info", "json")


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


class TokenTap:
    """An ASGI wrapper around the simulator that keeps every access token it hands out."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self, app: Any) -> Any:
        async def tapped(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != TOKEN_PATH:
                await app(scope, receive, send)
                return
            body = bytearray()

            async def keep(message: Any) -> None:
                if message["type"] == "http.response.body":
                    body.extend(message.get("body", b""))
                    if not message.get("more_body"):
                        token = json.loads(bytes(body) or b"{}").get("access_token")
                        if token:
                            self.issued.append(token)
                await send(message)

            await app(scope, receive, keep)

        return tapped


async def _audit_records(colt: Any, command: CloudEvent) -> list[dict[str, Any]]:
    records = await consume_all(colt.bootstrap, colt.topics.audit_http, timeout=1.0)
    data = [CloudEvent.from_json(r.value).data for r in records]
    return [d for d in data if d["command_id"] == command.id]


async def test_token_fetch_is_audited_and_logged_under_the_command_that_needed_it(
    start_colt: StartColt, captured: io.StringIO
) -> None:
    """The worker's first Colt call fetches a token: one hookline.http.call record and one
    http.call line with endpoint oauth.token, the command's id, POST /auth/token, status 200,
    before the API call itself; neither the client secret nor the token appears anywhere."""
    tap = TokenTap()
    async with start_colt(wrap=tap) as colt, running_worker(colt.settings):
        command = await colt.command("colt.quote.create", QUOTE)
        quote = await answer(colt, command)
        assert quote.type == "colt.quote.created", quote.data
        audited = await _audit_records(colt, command)
    assert tap.issued, "the simulator issued no token"
    endpoints = [record["endpoint"] for record in audited]
    assert endpoints[0] == "oauth.token", endpoints
    token = audited[0]
    assert (token["method"], token["path"], token["status"], token["outcome"]) == (
        "POST",
        TOKEN_PATH,
        200,
        "ok",
    )
    assert token["provider"] == "colt" and token["attempts"] == 1
    assert token["command_type"] == "colt.quote.create"

    lines = [
        line
        for line in _lines(captured)
        if line["event"] == "http.call" and line.get("endpoint") == "oauth.token"
    ]
    assert len(lines) == 1, lines
    assert lines[0]["command_id"] == command.id
    assert lines[0]["path"] == TOKEN_PATH
    text = captured.getvalue() + json.dumps(audited)
    for secret in (CLIENT_SECRET, *tap.issued):
        assert secret not in text


async def test_refused_token_fetch_is_audited_as_failed_under_the_command(
    start_colt: StartColt, captured: io.StringIO
) -> None:
    """A refused client secret: the token endpoint's refusal is an audit record and an
    http.call_failed line (AuthFailed, 4xx) with the command id; the secret is not logged."""
    # The simulator knows the client under another secret than the one hookline sends.
    clients = {CLIENT_ID: "colt-other-client-secret-9d8c"}
    async with (
        start_colt(sandbox_extra={"clients": clients}) as colt,
        running_worker(colt.settings),
    ):
        command = await colt.command("colt.quote.create", QUOTE)
        result = await answer(colt, command)
        audited = await _audit_records(colt, command)
    assert result.type == "colt.command.failed", result.data
    tokens = [record for record in audited if record["endpoint"] == "oauth.token"]
    assert tokens, audited
    assert tokens[0]["error"] == "AuthFailed"
    assert tokens[0]["outcome"] == "4xx" and tokens[0]["status"] in (400, 401)
    failed = [
        line
        for line in _lines(captured)
        if line["event"] == "http.call_failed" and line.get("endpoint") == "oauth.token"
    ]
    assert failed and failed[0]["command_id"] == command.id
    assert CLIENT_SECRET not in captured.getvalue() + json.dumps(audited)
