"""A charging session whose callbacks are lost still ends completed, and its receipt SMS goes once."""

from __future__ import annotations

import asyncio
from typing import Any

from hookline.bus.broker import EmbeddedBroker
from hookline.envelope import CloudEvent, make_event
from hookline.reactor.engine import command_id
from tests.services.reconcile.loop import ReconcileLoop, reconcile_loop
from tests.services.reservation.loop import create_data
from tests.support.kafka import consume_all
from tests.support.servers import RedisServer
from tests.worker.support import produce


async def _command(loop: ReconcileLoop, type_: str, data: dict[str, Any]) -> CloudEvent:
    event = make_event(source="/tests/downstream", type=type_, data=data)
    topic = loop.topics.commands("reservation")
    await produce(loop.bootstrap, topic, [event])
    return event


async def _result(loop: ReconcileLoop, command: CloudEvent, timeout: float = 30.0) -> CloudEvent:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in loop.events:
            if isinstance(event.data, dict) and event.data.get("command_id") == command.id:
                assert event.type.endswith(".command.succeeded"), event.data
                return event
        await asyncio.sleep(0.1)
    raise AssertionError(f"no result for {command.type}")


async def test_session_with_lost_completed_callback_still_sends_its_receipt_once(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Callbacks dropped: completed arrives by reconciliation, one receipt SMS; a late callback is a duplicate."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, charging=True) as loop:
        before = loop.reconciled("shell_recharge")
        await loop.hold_callbacks("shell_recharge", drop=True)
        reserved = await _result(
            loop, await _command(loop, "reservation.create", create_data("shell_recharge"))
        )
        start = await _command(
            loop,
            "charging.session.start",
            {
                "station_id": "shell_ev_001",
                "connector_id": "conn_001",
                "reservation_id": reserved.data["reservation_id"],
            },
        )
        session_id = str((await _result(loop, start)).data["session_id"])
        completed = await loop.wait_event("charging.session.completed", session_id, timeout=40)
        assert completed.data["driver"]["phone"] == "+15555550199"
        assert completed.providereventid == f"{session_id}:completed"
        receipt = command_id("charging-completed-receipt", completed.id)
        await loop.wait_event("sms.message.delivered", receipt, timeout=30)
        assert (await loop.state("shell_recharge"))["callbacks"]["delivered"] == 0
        # The lost callback turns up after all: the ingress takes it for the same event.
        await loop.hold_callbacks("shell_recharge")
        late = await loop.http.post(
            f"{loop.urls['shell_recharge']}/_sim/emit",
            json={"event": "session.completed", "entity_id": session_id},
        )
        assert late.status_code == 202, late.text
        await _delivered_callback(loop)
        await loop.settle(3)
        assert loop.count("charging.session.completed", session_id) == 1
        sms = await consume_all(loop.bootstrap, loop.topics.commands("sms"), timeout=1)
        assert len(sms) == 1
        assert (await loop.state("twilio"))["sms"]["by_ref"] == {receipt: 1}
        reconciled = loop.reconciled("shell_recharge") - before
        assert reconciled >= 1
        print(f"reconciled events (shell_recharge, callbacks dropped): {reconciled:.0f}")


async def _delivered_callback(loop: ReconcileLoop, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await loop.state("shell_recharge"))["callbacks"]["delivered"] < 1:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the late callback was not delivered")
        await asyncio.sleep(0.1)
