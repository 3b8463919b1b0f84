"""Logs are JSON lines and never carry secrets, signatures, tokens or phone numbers."""

from __future__ import annotations

import io
import json
import time

import httpx
import structlog

from hookline.bus.broker import EmbeddedBroker
from hookline.observability.logging import configure_logging
from hookline.observability.masking import SECRETS, mask_phone
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import HMAC_SECRET, WHSEC, running_ingress, settings_for


def test_stdlib_messages_are_masked_and_dates_kept() -> None:
    """A library's log message (httpx, uvicorn) is masked too; ISO dates are not phone numbers."""
    import logging

    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        logging.getLogger("somelib").warning(
            "GET https://api.example/2010-04-01/send?PWD=hunter22&to=+886912345678 token=abc Bearer zzz.yyy"
        )
    finally:
        configure_logging("info", "json")
    line = stream.getvalue().strip().splitlines()[-1]
    assert "/2010-04-01/" in line
    for leaked in ("912345678", "zzz.yyy", "hunter22"):
        assert leaked not in line, leaked


def test_masking_processor_by_key_and_pattern() -> None:
    """Sensitive keys, bearer tokens, whsec_ keys and phone numbers are masked in any field."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        structlog.get_logger("t").info(
            "t.event",
            authorization="Bearer abc.def.ghi",
            client_secret="cs-123456",
            note="called +886912345678 with Bearer tok_999999 and whsec_abcdef123",
            to="+15005550006",
            nested={"password": "pw-1234567", "ok": "fine"},
        )
    finally:
        configure_logging("info", "json")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    text = json.dumps(line)
    for leaked in (
        "abc.def.ghi",
        "cs-123456",
        "912345678",
        "tok_999999",
        "abcdef123",
        "5005550006",
        "pw-1234567",
    ):
        assert leaked not in text, leaked
    assert line["nested"]["ok"] == "fine"
    assert line["to"] == mask_phone("+15005550006")


async def test_request_logs_carry_ids_and_no_secrets(broker: EmbeddedBroker) -> None:
    """One JSON line per request with source, outcome, event id, latency; no secret or signature."""
    settings = settings_for(broker.bootstrap_servers)
    SECRETS.add([WHSEC, HMAC_SECRET])
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    body = b'{"type": "invoice.paid", "data": {"id": "inv_log"}}'
    signed = build_scheme(settings.sources["billing"].verify).sign(
        SignedRequest(body=body, headers=Headers({"content-type": "application/json"})), time.time()
    )
    try:
        async with running_ingress(settings) as url, httpx.AsyncClient() as client:
            ok = await client.post(
                f"{url}/webhooks/billing", content=body, headers=dict(signed.headers)
            )
            bad_headers = {**dict(signed.headers), "webhook-signature": "v1,AAAA" + WHSEC}
            await client.post(f"{url}/webhooks/billing", content=body, headers=bad_headers)
    finally:
        configure_logging("info", "json")
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "ingress.request"]
    assert {r["outcome"] for r in requests} >= {"accepted", "unverified"}
    accepted = next(r for r in requests if r["outcome"] == "accepted")
    assert accepted["event_id"] == ok.json()["id"]
    assert accepted["source"] == "billing" and "latency_ms" in accepted and accepted["request_id"]
    assert WHSEC not in output and HMAC_SECRET not in output
    assert signed.headers["webhook-signature"].split(",", 1)[1] not in output
