"""A booking whose cancellation callback is lost or late (OpenTable, Recreation.gov): the
reconciler reads the reservation, the cancellation still arrives once, and its SMS goes once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hookline.bus.broker import EmbeddedBroker
from hookline.envelope import CloudEvent, make_event
from hookline.reactor.engine import command_id
from tests.services.reconcile.loop import BOOKING_PLATFORMS, ReconcileLoop, reconcile_loop
from tests.services.reservation.loop import create_data, modify_changes
from tests.support.kafka import consume_all
from tests.support.servers import RedisServer
from tests.worker.support import produce

# Who a platform-side cancellation (``/_sim/emit``) is by, as the read shows it.
CLOSED_BY = {"opentable": "restaurant", "recreation_gov": "facility"}


async def _command(loop: ReconcileLoop, type_: str, data: dict[str, Any]) -> CloudEvent:
    event = make_event(source="/tests/downstream", type=type_, data=data)
    await produce(loop.bootstrap, loop.topics.commands("reservation"), [event])
    return event


async def _result(loop: ReconcileLoop, command: CloudEvent, timeout: float = 30.0) -> CloudEvent:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in loop.events:
            if isinstance(event.data, dict) and event.data.get("command_id") == command.id:
                assert event.type == "reservation.command.succeeded", event.data
                return event
        await asyncio.sleep(0.1)
    raise AssertionError(f"no result for {command.type}")


async def _book(loop: ReconcileLoop, platform: str) -> str:
    created = await _result(loop, await _command(loop, "reservation.create", create_data(platform)))
    return str(created.data["reservation_id"])


async def _book_result(loop: ReconcileLoop, platform: str) -> CloudEvent:
    return await _result(loop, await _command(loop, "reservation.create", create_data(platform)))


async def _emit_cancellation(loop: ReconcileLoop, platform: str, reservation_id: str) -> None:
    emitted = await loop.http.post(
        f"{loop.urls[platform]}/_sim/emit",
        json={"event": "reservation.cancelled", "entity_id": reservation_id},
    )
    assert emitted.status_code == 202, emitted.text


async def _callbacks_settled(loop: ReconcileLoop, sim: str, timeout: float = 30.0) -> None:
    """Wait until the simulator has sent every callback it queued (delivered or abandoned)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        callbacks = (await loop.state(sim))["callbacks"]
        if callbacks["delivered"] and not callbacks["pending"]:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{sim} callbacks still pending after {timeout}s")


async def _one_sms(loop: ReconcileLoop, reference: str) -> None:
    sms = await consume_all(loop.bootstrap, loop.topics.commands("sms"), timeout=1)
    assert len(sms) == 1, [c.data for c in sms]
    assert (await loop.state("twilio"))["sms"]["by_ref"] == {reference: 1}


@pytest.mark.parametrize("platform", BOOKING_PLATFORMS)
async def test_venue_cancellation_with_its_callback_dropped_still_texts_the_customer_once(
    broker: EmbeddedBroker, redis_server: RedisServer, platform: str
) -> None:
    """Callbacks dropped, the venue cancels: the read brings booking.cancelled, one SMS; a late callback is a duplicate."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, bookings=True) as loop:
        before = loop.reconciled(platform)
        await loop.hold_callbacks(platform, drop=True)
        reservation_id = await _book(loop, platform)
        await _emit_cancellation(loop, platform, reservation_id)
        cancelled = await loop.wait_event("reservation.booking.cancelled", reservation_id, 40)
        assert cancelled.providereventid == f"{reservation_id}:cancelled"
        assert cancelled.data["status"] == "cancelled"
        assert cancelled.data["cancellation"]["by"] == CLOSED_BY[platform]
        assert cancelled.data["customer"]["phone"].startswith("+1555555012")
        state = await loop.state(platform)
        assert state["callbacks"]["delivered"] == 0 and state["callbacks"]["dropped"] >= 2
        sms = command_id("reservation-cancelled-sms", cancelled.id)
        await loop.wait_event("sms.message.delivered", sms, timeout=30)
        # The lost callback turns up after all: the ingress takes it for the same event.
        await loop.hold_callbacks(platform)
        await _emit_cancellation(loop, platform, reservation_id)
        await _callbacks_settled(loop, platform)
        await loop.settle(3)
        assert loop.count("reservation.booking.cancelled", reservation_id) == 1
        await _one_sms(loop, sms)
        assert not (await loop.open_entities(platform))["entities"]
        reconciled = loop.reconciled(platform) - before
        assert reconciled >= 1
        print(f"reconciled events ({platform}, callbacks dropped): {reconciled:.0f}")


@pytest.mark.parametrize("platform", BOOKING_PLATFORMS)
async def test_cancellation_callback_delayed_past_reconciliation_is_one_event_downstream(
    broker: EmbeddedBroker, redis_server: RedisServer, platform: str
) -> None:
    """hookline cancels, the platform's callback comes 8 s late: the reconciler's event first, the callback a duplicate."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, bookings=True) as loop:
        before = loop.reconciled(platform)
        await loop.hold_callbacks(platform, delay_seconds=8)
        reservation_id = await _book(loop, platform)
        cancel = {"provider": platform, "reservation_id": reservation_id, "reason": "plans changed"}
        await _result(loop, await _command(loop, "reservation.cancel", cancel))
        cancelled = await loop.wait_event("reservation.booking.cancelled", reservation_id, 40)
        assert loop.reconciled(platform) - before >= 1
        state = await loop.state(platform)
        assert state["callbacks"]["delivered"] == 0, "the callback was not held past reconciliation"
        assert cancelled.data["cancellation"]["reason"] == "plans changed"
        await _callbacks_settled(loop, platform)
        state = await loop.state(platform)
        assert state["callbacks"]["delivered"] >= 2 and state["callbacks"]["abandoned"] == 0
        await loop.settle(2)
        assert loop.count("reservation.booking.cancelled", reservation_id) == 1
        sms = command_id("reservation-cancelled-sms", cancelled.id)
        await loop.wait_event("sms.message.delivered", sms, timeout=30)
        await _one_sms(loop, sms)
        print(
            f"reconciled events ({platform}, callback delayed 8 s): "
            f"{loop.reconciled(platform) - before:.0f}"
        )


@pytest.mark.parametrize("platform", BOOKING_PLATFORMS)
async def test_modification_with_its_callback_dropped_arrives_once_under_an_id_of_its_own(
    broker: EmbeddedBroker, redis_server: RedisServer, platform: str
) -> None:
    """Callbacks dropped, hookline modifies: the read differs from the booking, booking.modified (own id) once."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, bookings=True) as loop:
        before = loop.reconciled(platform)
        await loop.hold_callbacks(platform, drop=True)
        created = await _book_result(loop, platform)
        reservation_id = str(created.data["reservation_id"])
        changes = modify_changes(platform, created.data["result"])
        modify = {"provider": platform, "reservation_id": reservation_id, "changes": changes}
        await _result(loop, await _command(loop, "reservation.modify", modify))
        modified = await loop.wait_event("reservation.booking.modified", reservation_id, 40)
        assert modified.providereventid.startswith(f"reconciled:{reservation_id}:modified:")
        [(field, change)] = modified.data["changes"].items()
        assert change["to"] == next(iter(changes.values()))
        assert change["from"] == created.data["result"][field] != change["to"]
        await loop.settle(3)
        assert loop.count("reservation.booking.modified", reservation_id) == 1
        [entity] = (await loop.open_entities(platform))["entities"]
        assert entity["entity_id"] == reservation_id
        assert (await loop.state(platform))["callbacks"]["delivered"] == 0
        reconciled = loop.reconciled(platform) - before
        assert reconciled == 1
        print(f"reconciled events ({platform}, modification, callbacks dropped): {reconciled:.0f}")


@pytest.mark.parametrize("platform", BOOKING_PLATFORMS)
async def test_a_modification_whose_callback_comes_is_not_published_again(
    broker: EmbeddedBroker, redis_server: RedisServer, platform: str
) -> None:
    """Callbacks flowing: the modified callback updates what the reconciler compares, no second event."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, bookings=True) as loop:
        before = loop.reconciled(platform)
        created = await _book_result(loop, platform)
        reservation_id = str(created.data["reservation_id"])
        changes = modify_changes(platform, created.data["result"])
        modify = {"provider": platform, "reservation_id": reservation_id, "changes": changes}
        await _result(loop, await _command(loop, "reservation.modify", modify))
        modified = await loop.wait_event("reservation.booking.modified", reservation_id, 30)
        assert not modified.providereventid.startswith("reconciled:")
        await loop.settle(4)  # past after_seconds and several passes
        assert loop.count("reservation.booking.modified", reservation_id) == 1
        assert loop.reconciled(platform) - before == 0
        [entity] = (await loop.open_entities(platform))["entities"]
        assert entity["checks"] >= 1, "the reconciler never read the booking"
