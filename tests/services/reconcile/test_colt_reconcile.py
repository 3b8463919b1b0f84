"""A Colt order whose every notification is lost still completes downstream, and its SMS goes once."""

from __future__ import annotations

import asyncio

from hookline.bus.broker import EmbeddedBroker
from hookline.envelope import make_event
from hookline.reactor.engine import command_id
from tests.services.colt.test_workflow import ORDER, QUOTE
from tests.services.reconcile.loop import ReconcileLoop, reconcile_loop
from tests.support.kafka import consume_all
from tests.support.servers import RedisServer
from tests.worker.support import produce


async def _command(loop: ReconcileLoop, type_: str, data: dict[str, object]) -> str:
    event = make_event(source="/tests/downstream", type=type_, data=data)
    await produce(loop.bootstrap, loop.topics.commands("colt"), [event])
    return event.id


async def _result(loop: ReconcileLoop, command_id: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in loop.events:
            if isinstance(event.data, dict) and event.data.get("command_id") == command_id:
                assert event.type != "colt.command.failed", event.data
                return {"type": event.type, "subject": event.subject, **event.data}
        await asyncio.sleep(0.1)
    raise AssertionError(f"no result for {command_id}")


async def test_order_with_every_callback_dropped_completes_through_reconciliation(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Callbacks dropped: the order reaches completed downstream by polling, and one SMS is sent."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, colt=True) as loop:
        before = loop.reconciled("colt")
        await loop.hold_callbacks("colt", drop=True)
        quote = await _result(loop, await _command(loop, "colt.quote.create", QUOTE))
        order = await _result(
            loop, await _command(loop, "colt.order.submit", {"quote_id": quote["subject"], **ORDER})
        )
        assert order["type"] == "colt.order.submitted"
        order_id = str(order["subject"])
        # The simulator moves the order on (in_progress, then completed); every note is dropped.
        for _ in range(2):
            response = await loop.http.post(
                f"{loop.urls['colt']}/_sim/emit",
                json={"event": "order.state_changed", "entity_id": order_id},
            )
            assert response.status_code == 202, response.text
        completed = await loop.wait_event("colt.order.state_changed", order_id, timeout=30)
        while completed.data["status"] != "completed":
            await asyncio.sleep(0.2)
            done = [e for e in loop.events_of(order_id) if e.data.get("status") == "completed"]
            completed = done[0] if done else completed
        assert completed.data["technical_contact"]["phone"] == "+442079460958"
        assert (await loop.state("colt"))["callbacks"]["delivered"] == 0
        sms = command_id("colt-order-completed-sms", completed.id)
        await loop.wait_event("sms.message.delivered", sms, timeout=30)
        await loop.settle(3)
        finals = [e for e in loop.events_of(order_id) if e.data.get("status") == "completed"]
        assert len(finals) == 1
        commands = await consume_all(loop.bootstrap, loop.topics.commands("sms"), timeout=1)
        assert len(commands) == 1
        assert (await loop.state("twilio"))["sms"]["by_ref"] == {sms: 1}
        reconciled = loop.reconciled("colt") - before
        assert reconciled >= 1
        print(f"reconciled events (colt, callbacks dropped): {reconciled:.0f}")
