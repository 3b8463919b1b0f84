"""SMS delivery reports lost or late: the reconciler polls each provider's status API."""

from __future__ import annotations

import asyncio

import pytest

from hookline.bus.broker import EmbeddedBroker
from hookline.observability.metrics import REGISTRY
from tests.services.reconcile.loop import ReconcileLoop, reconcile_loop
from tests.support.servers import RedisServer

# Each provider's number and the command field that routes the message there.
ROUTES = {
    "twilio": ("+14155550123", {}),
    "every8d": ("+886912345678", {}),
    "mitake": ("+886912345678", {"provider": "mitake"}),
}


@pytest.mark.parametrize("provider", sorted(ROUTES))
async def test_dropped_delivery_reports_end_delivered_through_polling(
    broker: EmbeddedBroker, redis_server: RedisServer, provider: str
) -> None:
    """Every report of a provider dropped: the message still ends delivered, once, by reconciliation."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url) as loop:
        before = loop.reconciled(provider)
        await loop.hold_callbacks(provider, drop=True)
        number, extra = ROUTES[provider]
        command = loop.command(number, **extra)
        await loop.send(command)
        delivered = await loop.wait_event("sms.message.delivered", command.id, timeout=30)
        accepted = await loop.wait_event("sms.message.accepted", command.id)
        assert delivered.provider == accepted.provider == provider
        assert delivered.data["provider_message_id"] == accepted.data["provider_message_id"]
        state = await loop.state(provider)
        assert state["callbacks"]["delivered"] == 0 and state["callbacks"]["dropped"] >= 1
        await loop.settle(2)
        assert loop.count("sms.message.delivered", command.id) == 1
        reconciled = loop.reconciled(provider) - before
        assert reconciled >= 1
        print(f"reconciled events ({provider}, reports dropped): {reconciled:.0f}")


async def test_report_delayed_past_reconciliation_is_one_event_downstream(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """The report arrives after the reconciler published its state: the ingress answers it duplicate."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url) as loop:
        before = loop.reconciled("twilio")
        await loop.hold_callbacks("twilio", delay_seconds=6)
        command = loop.command("+14155550123")
        await loop.send(command)
        await loop.wait_event("sms.message.delivered", command.id, timeout=30)
        assert loop.reconciled("twilio") - before >= 1
        state = await loop.state("twilio")
        assert state["callbacks"]["delivered"] == 0, "the report was not held past reconciliation"
        await _callbacks_settled(loop, "twilio")
        state = await loop.state("twilio")
        assert state["callbacks"]["delivered"] >= 1 and state["callbacks"]["abandoned"] == 0
        await loop.settle(1)
        assert loop.count("sms.message.delivered", command.id) == 1
        print(
            f"reconciled events (twilio, reports delayed 6 s): {loop.reconciled('twilio') - before:.0f}"
        )


async def _callbacks_settled(loop: ReconcileLoop, sim: str, timeout: float = 30.0) -> None:
    """Wait until the simulator has sent every callback it queued (delivered or abandoned)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        callbacks = (await loop.state(sim))["callbacks"]
        if callbacks["sent"] and not callbacks["pending"]:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{sim} callbacks still pending after {timeout}s")


async def test_a_provider_answering_429_is_asked_less_not_hammered(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Status reads answered 429: few calls reach Twilio, the message stays listed open, then recovers."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url) as loop:
        await loop.hold_callbacks("twilio", drop=True)
        fault = await loop.fault(
            "twilio",
            path="/2010-04-01/Accounts/*/Messages/*.json",
            method="GET",
            status=429,
            error_code="20429",
            retry_after=1,
            count=0,
        )
        command = loop.command("+14155550123")
        await loop.send(command)
        await loop.wait_event("sms.message.accepted", command.id)
        asked_before = _checks("twilio", "error")
        await asyncio.sleep(8)
        refused = (await loop.state("twilio"))["faults"]["applied"]
        # Passes every 0.5 s with 3 attempts each would be ~48 calls in 8 s; Retry-After,
        # the breaker and the reconciler's backoff keep it to a handful (a slow machine: fewer).
        assert 1 <= refused <= 10, refused
        # The reconciler itself backs off (passes skipped 1, 3, 7… after a push-back), rather
        # than leaning on the breaker to refuse it every 0.5 s: ~14 failed checks without it.
        asked = _checks("twilio", "error") - asked_before
        assert 1 <= asked <= 7, asked
        listed = await loop.open_entities("twilio")
        accepted = await loop.wait_event("sms.message.accepted", command.id)
        [entity] = listed["entities"]
        assert entity["entity_id"] == accepted.data["provider_message_id"]
        assert entity["subject"] == command.id and entity["age_seconds"] >= 7
        assert listed["by_provider"] == {"twilio": 1}
        await loop.clear_fault("twilio", fault)
        await loop.wait_event("sms.message.delivered", command.id, timeout=40)
        print(f"reconciled events (twilio, 429 then recovered): 1; 429 answers in 8 s: {refused}")


async def test_entity_open_past_give_up_gets_a_stale_event_once(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Status reads keep failing: after give_up_after_seconds one sms.message.stale, then no more asking."""
    reconcile = {
        "interval_seconds": 0.5,
        "providers": {"twilio": {"after_seconds": 1, "give_up_after_seconds": 4}},
    }
    async with reconcile_loop(
        broker.bootstrap_servers, redis_server.url, reconcile=reconcile
    ) as loop:
        stale_before = _stale("twilio")
        await loop.hold_callbacks("twilio", drop=True)
        await loop.fault(
            "twilio",
            path="/2010-04-01/Accounts/*/Messages/*.json",
            method="GET",
            status=500,
            count=0,
        )
        command = loop.command("+14155550123")
        await loop.send(command)
        stale = await loop.wait_event("sms.message.stale", command.id, timeout=30)
        accepted = await loop.wait_event("sms.message.accepted", command.id)
        assert stale.data["provider_entity_id"] == accepted.data["provider_message_id"]
        assert stale.data["provider"] == "twilio"
        await loop.settle(2)
        assert loop.count("sms.message.stale", command.id) == 1
        assert (await loop.open_entities("twilio"))["entities"] == []
        assert _stale("twilio") - stale_before == 1


def _checks(provider: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "hookline_reconcile_checks_total", {"provider": provider, "outcome": outcome}
    )
    return value or 0.0


def _stale(provider: str) -> float:
    value = REGISTRY.get_sample_value("hookline_reconcile_stale_total", {"provider": provider})
    return value or 0.0
