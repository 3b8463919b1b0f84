"""SMS delivery reports lost or late: the reconciler polls each provider's status API."""

from __future__ import annotations

import pytest

from hookline.bus.broker import EmbeddedBroker
from tests.services.reconcile.loop import reconcile_loop
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
