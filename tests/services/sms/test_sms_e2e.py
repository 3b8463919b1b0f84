"""sms.send through the whole loop: worker → simulator → signed report → ingress → events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from hookline.bus.broker import EmbeddedBroker
from tests.services.sms.loop import MITAKE_TOKEN, SmsLoop, sms_loop


async def test_non_taiwan_number_is_delivered_through_twilio(broker: EmbeddedBroker) -> None:
    """A US number goes out through Twilio; its signed status callback becomes sms.message.delivered."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        command = loop.command("+14155550123")
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id)
        accepted = await loop.wait_event("sms.message.accepted", command.id)
        assert delivered.provider == accepted.provider == "twilio"
        assert delivered.data["command_id"] == delivered.data["message_id"] == command.id
        assert delivered.data["provider_message_id"] == accepted.data["provider_message_id"]
        assert accepted.data["segments"] == 1 and accepted.data["cost"] == 2.5
        assert accepted.source == "/hookline/workers/sms"
        state = await loop.state("twilio")
        assert state["sms"]["by_ref"] == {command.id: 1}


async def test_taiwan_number_is_delivered_through_every8d_first(broker: EmbeddedBroker) -> None:
    """A +886 number goes out through Every8d (first by priority) and its report is delivered."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        command = loop.command("+886912345678", body="您的訂單已出貨")
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id)
        accepted = await loop.wait_event("sms.message.accepted", command.id)
        assert delivered.provider == accepted.provider == "every8d"
        assert delivered.data["command_id"] == command.id
        assert accepted.data["cost"] == 0.8 and accepted.data["attempt"] == 1
        assert (await loop.state("every8d"))["sms"]["by_ref"] == {command.id: 1}
        assert (await loop.state("mitake"))["requests"]["total"] == 0


async def test_taiwan_number_through_mitake_gets_the_exact_acknowledgement(
    broker: EmbeddedBroker,
) -> None:
    """Preferring Mitake: delivered, and every report counts as delivered only on the exact body."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        command = loop.command("+886912345678", provider="mitake")
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id)
        assert delivered.provider == "mitake" and delivered.data["command_id"] == command.id
        state = await loop.state("mitake")
        callbacks = state["callbacks"]
        assert callbacks["delivered"] >= 2 and callbacks["abandoned"] == 0
        assert all(c["attempts"] == 1 for c in callbacks["last"])
        msgid = delivered.data["provider_message_id"]
        # A report the ingress has not seen yet (StatusFlag 3) is answered with Mitake's body.
        response = await _mitake_report(loop, command.id, msgid, flag="3")
        assert response.status_code == 200
        assert response.content == f"magicid=sms_gateway_rpack\nmsgid={msgid}\n".encode()
        assert response.headers["content-type"].startswith("text/plain")


async def test_a_repeated_mitake_report_still_gets_the_exact_acknowledgement(
    broker: EmbeddedBroker,
) -> None:
    """Mitake re-sending a report the ingress already published gets the exact body again."""
    async with sms_loop(broker.bootstrap_servers, worker=False) as loop:
        first = await _mitake_report(loop, "m-1", "1010079999", flag="4")
        again = await _mitake_report(loop, "m-1", "1010079999", flag="4")
        assert first.content == again.content == b"magicid=sms_gateway_rpack\nmsgid=1010079999\n"
        status = await loop.wait_event("sms.message.delivered", "m-1")
        assert status.providereventid == "1010079999:4"


async def test_mitake_reports_by_get_or_post_and_only_mitake_takes_get(
    broker: EmbeddedBroker,
) -> None:
    """Real Mitake GETs its report URL; a POSTed form is the same report; a wrong token is 401;
    a GET to a source whose provider delivers by POST is 405, as before GET deliveries existed."""
    async with sms_loop(broker.bootstrap_servers, worker=False) as loop:
        by_post = await _mitake_report(loop, "m-2", "1010070002", flag="1", method="POST")
        assert by_post.status_code == 200
        assert by_post.content == b"magicid=sms_gateway_rpack\nmsgid=1010070002\n"
        sent = await loop.wait_event("sms.message.sent", "m-2")
        assert sent.providereventid == "1010070002:1"
        forged = await loop.http.get(
            f"{loop.urls['ingress']}/webhooks/mitake-dlr?token=wrong&ref=m-3&msgid=1&dstaddr=0912345678&StatusFlag=4"
        )
        assert (
            forged.status_code == 401
            and forged.headers["content-type"] == "application/problem+json"
        )
        refused = await loop.http.get(f"{loop.urls['ingress']}/webhooks/every8d-dlr?token=x")
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"
        assert refused.json()["detail"] == "Method not allowed on this route."


async def _mitake_report(
    loop: SmsLoop, ref: str, msgid: str, flag: str, method: str = "GET"
) -> httpx.Response:
    url = (
        f"{loop.urls['ingress']}/webhooks/mitake-dlr?token={MITAKE_TOKEN}"
        f"&ref={ref}&msgid={msgid}&dstaddr=0912345678&StatusFlag={flag}&statuscode=0"
    )
    if method == "GET":  # as real Mitake: the fields in the query, no body, no content type
        return await loop.http.get(url)
    return await loop.http.post(url, headers={"content-type": "application/x-www-form-urlencoded"})


async def test_failed_report_fails_over_to_the_next_provider(broker: EmbeddedBroker) -> None:
    """Every8d reports undelivered → failed_over to Mitake → delivered, one message id throughout."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        number = "+886912345678"
        await loop.force("every8d", number, "fail")
        command = loop.command(number)
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id)
        over = await loop.wait_event("sms.message.failed_over", command.id)
        assert (over.data["from_provider"], over.data["to_provider"]) == ("every8d", "mitake")
        assert over.data["error_class"] == "transient" and over.data["error_code"] == "101"
        assert delivered.provider == "mitake"
        types = [e.type for e in loop.of(command.id)]
        assert types.index("sms.message.failed_over") < types.index("sms.message.delivered")
        accepted = [e for e in loop.of(command.id) if e.type == "sms.message.accepted"]
        assert [(e.provider, e.data["attempt"]) for e in accepted] == [
            ("every8d", 1),
            ("mitake", 2),
        ]
        assert not [e for e in loop.of(command.id) if e.type == "sms.message.failed"]


async def test_bad_recipient_never_fails_over(broker: EmbeddedBroker) -> None:
    """Every8d refusing the number (-3) fails the message at once: no failover, DLQ."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        command = loop.command("+886912340001")
        await loop.send(command)
        failed = await loop.wait_event("sms.message.failed", command.id)
        assert failed.data["error_class"] == "invalid_recipient"
        assert failed.data["attempts"] == [
            {"provider": "every8d", "error_code": "-3", "error_class": "invalid_recipient"}
        ]
        assert not [e for e in loop.of(command.id) if e.type == "sms.message.failed_over"]
        assert (await loop.state("mitake"))["requests"]["total"] == 0
        assert (await loop.state("twilio"))["requests"]["total"] == 0
        [dead] = await loop.dead_letters(expect=1)
        assert dead.key == command.id.encode()


async def test_all_providers_failing_dead_letters_with_attempts(broker: EmbeddedBroker) -> None:
    """Every provider answering 503: each is tried in order, then failed and DLQ with the attempts."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        for sim in ("every8d", "mitake", "twilio"):
            await loop.fault(sim, path="/**", status=503, count=0)
        command = loop.command("+886912345678")
        await loop.send(command)
        failed = await loop.wait_event("sms.message.failed", command.id, timeout=30)
        assert [a["provider"] for a in failed.data["attempts"]] == ["every8d", "mitake", "twilio"]
        assert failed.data["error_class"] == "transient"
        overs = [e for e in loop.of(command.id) if e.type == "sms.message.failed_over"]
        assert [(e.data["from_provider"], e.data["to_provider"]) for e in overs] == [
            ("every8d", "mitake"),
            ("mitake", "twilio"),
        ]
        [dead] = await loop.dead_letters(expect=1)
        headers = {k: v.decode() for k, v in dead.headers}
        message = headers["hookline-error-message"]
        assert "every8d=" in message and "mitake=" in message and "twilio=" in message
        for sim in ("every8d", "mitake", "twilio"):
            assert (await loop.state(sim))["sms"]["sent"] == 0


async def test_invalid_number_is_dead_lettered_at_once_and_nothing_is_sent(
    broker: EmbeddedBroker,
) -> None:
    """A number that is not E.164 fails permanently before any provider call."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        command = loop.command("0912-345-678")
        await loop.send(command)
        failed = await loop.wait_event("sms.message.failed", command.id)
        assert failed.data["error_class"] == "invalid_recipient"
        assert failed.data["attempts"] == [] and failed.data["provider"] is None
        [dead] = await loop.dead_letters(expect=1)
        headers = {k: v.decode() for k, v in dead.headers}
        assert headers["hookline-attempts"] == "1"
        assert "E.164" in headers["hookline-error-message"]
        for sim in ("every8d", "mitake", "twilio"):
            assert (await loop.state(sim))["requests"]["total"] == 0


async def test_every8d_outage_opens_its_breaker_and_traffic_returns_when_healthy(
    broker: EmbeddedBroker,
) -> None:
    """Every8d 503 for every call: Taiwan messages go through Mitake, the breaker opens, then recovers."""
    async with sms_loop(broker.bootstrap_servers) as loop:
        outage = await loop.fault("every8d", path="/API21/HTTP/sendSMS.ashx", status=503, count=0)
        during = [loop.command(f"+8869123456{i:02d}") for i in range(4)]
        for command in during:
            await loop.send(command)
            delivered = await loop.wait_event("sms.message.delivered", command.id)
            assert delivered.provider == "mitake"
        assert loop.worker is not None
        service = loop.worker.spec.handlers
        assert service.types() == ["sms.message.delivered", "sms.message.undelivered", "sms.send"]
        breaker = _client(loop, "every8d").api.breaker
        assert breaker.state == "open"
        # With the breaker open Every8d is skipped without a call.
        calls = (await loop.state("every8d"))["requests"]["total"]
        skipped = loop.command("+886912345699")
        await loop.send(skipped)
        assert (await loop.wait_event("sms.message.accepted", skipped.id)).provider == "mitake"
        assert (await loop.state("every8d"))["requests"]["total"] == calls
        assert not [e for e in loop.of(skipped.id) if e.type == "sms.message.failed_over"]

        await loop.clear_fault("every8d", outage)
        await asyncio.sleep(4.2)  # the breaker's recovery_seconds in the test settings
        after = loop.command("+886912345600")
        await loop.send(after)
        delivered = await loop.wait_event("sms.message.delivered", after.id)
        assert delivered.provider == "every8d"
        assert breaker.state == "closed"


def _client(loop: SmsLoop, name: str) -> Any:
    assert loop.worker is not None
    handler = loop.worker.spec.handlers.get("sms.send")
    return handler.__self__.providers[name]  # type: ignore[union-attr]


async def test_a_provider_failing_its_health_check_goes_last_until_it_passes_again(
    broker: EmbeddedBroker,
) -> None:
    """Every8d's credit check answering 503: the gauge says so and a Taiwan number goes to
    Mitake first; once the check passes again Every8d is first again."""
    from hookline.observability.metrics import REGISTRY

    def healthy(provider: str) -> float | None:
        return REGISTRY.get_sample_value("hookline_sms_provider_healthy", {"provider": provider})

    async def until(provider: str, value: float) -> None:
        for _ in range(200):
            if healthy(provider) == value:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{provider} health never became {value}")

    async with sms_loop(broker.bootstrap_servers, sms={"health_interval_seconds": 0.3}) as loop:
        await until("every8d", 1.0)
        fault = await loop.fault(
            "every8d", path="/API21/HTTP/getCredit.ashx", method="GET", status=503, count=0
        )
        await until("every8d", 0.0)
        assert healthy("mitake") == healthy("twilio") == 1.0
        command = loop.command("+886912345678")
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id)
        assert delivered.provider == "mitake"
        assert command.id not in (await loop.state("every8d"))["sms"]["by_ref"]
        await loop.clear_fault("every8d", fault)
        await until("every8d", 1.0)
        again = loop.command("+886912345679")
        await loop.send(again)
        assert (await loop.wait_event("sms.message.delivered", again.id)).provider == "every8d"
