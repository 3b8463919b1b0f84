"""Metric exemplars name the command and request behind a sample (OpenMetrics, real scrapes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.observability.exemplars import LIMIT, fit
from tests.services.sms.loop import sms_loop
from tests.worker.support import start_worker_process, stop_process

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
# What Prometheus 3 sends with exemplar storage on (its default scrape protocols).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def _samples(text: str, family: str) -> list[Sample]:
    return [
        sample
        for metric in text_string_to_metric_families(text)
        if metric.name == family
        for sample in metric.samples
    ]


async def _scrape(url: str, accept: str | None) -> httpx.Response:
    headers = {"Accept": accept} if accept is not None else {}
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{url}/metrics", headers=headers)


async def _until_scraped(url: str, check: Any, timeout: float = 30.0) -> str:
    """Scrape (OpenMetrics) until ``check(text)`` holds; the process may still be starting."""
    deadline = asyncio.get_running_loop().time() + timeout
    text = ""
    while asyncio.get_running_loop().time() < deadline:
        try:
            response = await _scrape(url, PROMETHEUS_ACCEPT)
            text = response.text
            if check(text):
                return text
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"not seen within {timeout}s in:\n{text[-3000:]}")


async def test_worker_and_ingress_scrapes_carry_exemplars_naming_the_command_and_request(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """A `hookline worker sms` process sends one SMS through the Twilio simulator; its /metrics
    in OpenMetrics shows the send's command_id and request_id on hookline_http_requests_total
    and on a hookline_http_request_seconds bucket; a plain scrape gets the classic format.
    The simulator's delivery report reaches the ingress, whose request latency carries the
    request id and event id."""
    probe = free_port()

    def tweak(raw: dict[str, Any]) -> None:
        raw["worker"]["probe_port"] = probe
        raw["observability"] = {"log_level": "warning"}

    async with sms_loop(broker.bootstrap_servers, worker=False, tweak=tweak) as loop:
        config = tmp_path / "hookline.yaml"
        config.write_text(yaml.safe_dump(loop.raw))
        process = start_worker_process(config, tmp_path / "worker.log", "sms")
        url = f"http://127.0.0.1:{probe}"
        try:
            command = loop.command("+14155550142")
            command.__dict__["requestid"] = "req-exemplar-1"
            await loop.send(command)
            await loop.wait_event("sms.message.accepted", command.id, timeout=60)

            def sent(text: str) -> bool:
                return any(
                    s.exemplar is not None and s.exemplar.labels.get("command_id") == command.id
                    for s in _samples(text, "hookline_http_requests")
                )

            text = await _until_scraped(url, sent)
            requests = [
                s
                for s in _samples(text, "hookline_http_requests")
                if s.name.endswith("_total") and s.exemplar is not None
            ]
            mine = [s for s in requests if s.exemplar.labels["command_id"] == command.id]
            assert mine, requests
            assert mine[0].labels["status_class"] == "2xx"
            assert mine[0].exemplar.labels["request_id"] == "req-exemplar-1"
            buckets = [
                s
                for s in _samples(text, "hookline_http_request_seconds")
                if s.exemplar is not None and s.exemplar.labels.get("command_id") == command.id
            ]
            assert buckets, "no latency bucket carries the command's exemplar"
            assert buckets[0].exemplar.value <= float(buckets[0].labels["le"])

            answer = await _scrape(url, OPENMETRICS)
            assert answer.headers["content-type"].startswith("application/openmetrics-text")
            assert answer.text.rstrip().endswith("# EOF")

            for accept in (None, "text/plain", "*/*"):
                classic = await _scrape(url, accept)
                assert classic.headers["content-type"].startswith("text/plain"), accept
                assert "# TYPE hookline_http_requests_total counter" in classic.text
                assert "# EOF" not in classic.text
                assert command.id not in classic.text  # exemplars exist only in OpenMetrics

            # The delivery report (Twilio's callback) went through the in-process ingress.
            await loop.wait_event("sms.message.delivered", command.id, timeout=60)
            ingress = loop.urls["ingress"]

            def ours(text: str) -> list[dict[str, str]]:
                # The ingress runs in this test process, whose registry also holds the
                # exemplars of earlier tests' ingresses: only this loop's events count.
                known = {e.id for e in loop.events}
                return [
                    s.exemplar.labels
                    for s in _samples(text, "hookline_ingress_request_seconds")
                    if s.exemplar is not None and s.exemplar.labels.get("event_id") in known
                ]

            text = await _until_scraped(ingress, lambda t: bool(ours(t)))
            # Each exemplar is one webhook the ingress published: its event and request ids.
            published = {e.id: e.requestid for e in loop.events if e.requestid is not None}
            seen = ours(text)
            assert seen
            for labels in seen:
                assert published.get(labels["event_id"]) == labels["request_id"], (
                    labels,
                    published,
                )
        finally:
            stop_process(process)


def test_exemplar_ids_fit_the_openmetrics_limit_whole_or_not_at_all() -> None:
    """Ids are kept in order while they fit in 128 characters; a long one is left out whole."""
    command_id = "0b1c2d3e-0000-4000-8000-000000000001"
    trace_id, request_id = "a" * 32, "b" * 32
    full = fit((("command_id", command_id), ("trace_id", trace_id), ("request_id", request_id)))
    assert full == {"command_id": command_id, "trace_id": trace_id, "request_id": request_id}
    assert sum(len(k) + len(v) for k, v in full.items()) == LIMIT
    long_request = "r" * 100
    kept = fit((("command_id", command_id), ("trace_id", trace_id), ("request_id", long_request)))
    assert kept == {"command_id": command_id, "trace_id": trace_id}
    assert fit((("command_id", None), ("request_id", ""))) is None


TRACED = """
import asyncio, json, sys
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from hookline.config.models import ProviderSettings
from hookline.http.client import ApiClient
from hookline.observability import metrics, tracing
from hookline.observability.context import HANDLING

assert tracing.configure_tracing("hookline-test", {"OTEL_TRACES_EXPORTER": "console"})

async def main():
    api = ApiClient("traced", ProviderSettings(base_url=sys.argv[1]))
    HANDLING.set(("0b1c2d3e-0000-4000-8000-00000000abcd", "demo.command", "f" * 32))
    try:
        with tracing.span("handle command") as parent:
            await api.request("GET", "/orders/42", endpoint="orders.get")
    finally:
        await api.aclose()
    text = generate_latest(metrics.REGISTRY).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hookline_http_requests_total" and sample.exemplar:
                print("EXEMPLAR", json.dumps({
                    "labels": sample.exemplar.labels,
                    "trace_id": format(parent.get_span_context().trace_id, "032x"),
                }), flush=True)

asyncio.run(main())
"""


async def test_with_tracing_on_the_exemplar_carries_the_trace_id_beside_the_ids() -> None:
    """A provider call inside a span: command_id, trace_id and request_id, all three (128
    characters, the limit), the trace id being the span's."""
    import json
    import subprocess
    import sys

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.support.servers import serve

    async def order(_: Any) -> JSONResponse:
        return JSONResponse({"id": "42"})

    async with serve(Starlette(routes=[Route("/orders/42", order)])) as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", TRACED, url, stdout=subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    [line] = [ln for ln in out.decode().splitlines() if ln.startswith("EXEMPLAR ")]
    found = json.loads(line.removeprefix("EXEMPLAR "))
    assert found["labels"] == {
        "command_id": "0b1c2d3e-0000-4000-8000-00000000abcd",
        "trace_id": found["trace_id"],
        "request_id": "f" * 32,
    }
