"""Outbound provider calls are client spans that carry ``traceparent`` to the provider."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.otlp import otlp_receiver
from tests.support.servers import serve

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from hookline.config.models import ProviderSettings
    from hookline.http.client import ApiClient
    from hookline.observability import tracing

    assert tracing.configure_tracing("hookline-test")

    async def main():
        api = ApiClient("demo", ProviderSettings(base_url=sys.argv[1]))
        try:
            with tracing.span("handle command") as parent:
                print(format(parent.get_span_context().span_id, "016x"), flush=True)
                await api.request("GET", "/orders/42", endpoint="orders.get")
        finally:
            await api.aclose()

    asyncio.run(main())
    """
)


@pytest.fixture
async def provider() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def order(request: Request) -> JSONResponse:
        seen.append(dict(request.headers))
        return JSONResponse({"id": "42"})

    async with serve(Starlette(routes=[Route("/orders/42", order)])) as url:
        yield url, seen


async def test_call_is_a_client_span_and_the_provider_sees_its_traceparent(
    provider: tuple[str, list[dict[str, str]]],
) -> None:
    """One call: a CLIENT span under the handler's span, and the request's traceparent names it."""
    url, seen = provider
    async with otlp_receiver() as receiver:
        env = {
            **os.environ,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SCRIPT, url, env=env, stdout=subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0
        # structlog's default output shares stdout; the span id is the one bare hex line.
        [parent_id] = re.findall(r"^([0-9a-f]{16})$", out.decode(), re.M)
        spans = await receiver.wait_for(lambda s: len(s) >= 2)
    [client] = [s for s in spans if s.name == "GET orders.get"]
    [handler] = [s for s in spans if s.name == "handle command"]
    assert handler.span_id == parent_id
    assert client.parent_span_id == handler.span_id
    assert client.trace_id == handler.trace_id
    assert client.kind == 3  # SPAN_KIND_CLIENT
    assert client.service == "hookline-test"
    assert client.attributes["http.response.status_code"] == 200
    assert client.attributes["hookline.provider"] == "demo"
    [headers] = seen
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert (version, trace_id, span_id) == ("00", client.trace_id, client.span_id)
    assert int(flags, 16) & 1  # sampled


async def test_no_traceparent_and_no_span_when_tracing_is_off(
    provider: tuple[str, list[dict[str, str]]],
) -> None:
    """Without OTEL_TRACES_EXPORTER nothing is exported and no traceparent is invented."""
    url, seen = provider
    script = SCRIPT.replace(
        'assert tracing.configure_tracing("hookline-test")',
        "assert not tracing.configure_tracing('x')",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script.replace("parent.get_span_context().span_id", "0"),
        url,
        env=env,
        stdout=subprocess.PIPE,
    )
    await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    [headers] = seen
    assert "traceparent" not in headers
