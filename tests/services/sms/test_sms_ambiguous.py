"""Unanswered sends (docs/sms.md#failover-rules-in-plain-words): Twilio and Every8d never resend; Mitake resends the same clientid."""

from __future__ import annotations

import io
import json

from hookline.bus.broker import EmbeddedBroker
from hookline.observability.logging import configure_logging
from hookline.observability.metrics import REGISTRY
from tests.services.sms.loop import sms_loop

SLOW = 2600  # ms; above the providers' 2 s timeout in the test settings


async def test_twilio_timeout_fails_with_unknown_outcome_and_is_never_resent(
    broker: EmbeddedBroker,
) -> None:
    """A Twilio send that times out is not repeated anywhere: failed/unknown_outcome, one send."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        await loop.fault("twilio", path="/2010-04-01/Accounts/*/Messages.json", delay_ms=SLOW)
        command = loop.command("+14155550123")
        await loop.send(command)
        failed = await loop.wait_event("sms.message.failed", command.id)
        assert failed.data["error_class"] == "unknown_outcome"
        assert failed.data["attempts"] == [
            {"provider": "twilio", "error_code": None, "error_class": "unknown_outcome"}
        ]
        state = await loop.state("twilio")
        assert state["requests"]["by_route"] == {
            "POST /2010-04-01/Accounts/{account_sid}/Messages.json": 1
        }
        # The simulator drops a request whose client gave up; a real provider may have sent it.
        assert state["sms"]["by_ref"].get(command.id, 0) <= 1
        assert not [e for e in loop.of(command.id) if e.type == "sms.message.failed_over"]


async def test_mitake_timeout_is_resent_with_the_same_clientid_and_sent_once(
    broker: EmbeddedBroker,
) -> None:
    """A Mitake send that times out is sent again under the same clientid: one SMS, delivered."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        await loop.fault("mitake", path="/api/mtk/SmSend", delay_ms=SLOW)
        command = loop.command("+886912345678", provider="mitake")
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id)
        assert delivered.provider == "mitake"
        state = await loop.state("mitake")
        assert state["requests"]["by_route"]["POST /api/mtk/SmSend"] >= 2
        assert state["sms"]["by_ref"] == {command.id: 1}


async def test_phone_numbers_never_reach_the_logs(broker: EmbeddedBroker) -> None:
    """Across worker, client, simulator and ingress logs, recipients appear only masked."""
    buffer = io.StringIO()
    configure_logging("info", "json", stream=buffer)
    try:
        async with sms_loop(broker.bootstrap_servers) as loop:
            tw, us, bad = (
                loop.command("+886912345678"),
                loop.command("+14155550123"),
                loop.command("+14155550001"),
            )
            await loop.send(tw, us, bad)
            await loop.wait_event("sms.message.delivered", tw.id)
            await loop.wait_event("sms.message.delivered", us.id)
            await loop.wait_event("sms.message.failed", bad.id)
    finally:
        configure_logging("info", "json")
    text = buffer.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "sms.send_received" for line in lines)
    for number in ("886912345678", "912345678", "4155550123", "4155550001"):
        assert number not in text
    assert "+886*******78" in text
    sample = REGISTRY.get_sample_value(
        "hookline_sms_cost_total", {"provider": "every8d", "currency": "TWD"}
    )
    assert sample is not None and sample >= 0.8
