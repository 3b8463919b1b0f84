"""The reactor worker on a real broker: events in, commands out, once per event."""

from __future__ import annotations

import asyncio
import json
import uuid

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.codec import to_record
from hookline.bus.connection import start_producer
from hookline.bus.topics import Topics, all_topics
from hookline.config.models import HooklineSettings
from hookline.envelope import make_event
from hookline.reactor.engine import command_id
from hookline.reactor.worker import create_worker
from hookline.worker.runtime import Worker
from tests.support.kafka import consume_all, create_topics


def settings_for(broker: EmbeddedBroker) -> HooklineSettings:
    return HooklineSettings.model_validate(
        {
            "kafka": {
                "bootstrap_servers": broker.bootstrap_servers,
                "topic_prefix": f"r{uuid.uuid4().hex[:8]}",
                "partitions": 2,
            },
            "worker": {
                "session_timeout_ms": 2000,
                "heartbeat_interval_ms": 300,
                "retry_tiers": ["1s"],
            },
        }
    )


async def test_events_become_commands_once_and_non_matching_events_none(
    broker: EmbeddedBroker,
) -> None:
    """A matching event → one sms.send; its redelivery → no second command; a non-match → nothing."""
    settings = settings_for(broker)
    topics = Topics(settings.kafka.topic_prefix)
    await create_topics(broker.bootstrap_servers, all_topics(settings), 2)
    contact = {"name": "Ada", "phone": "+886912345678"}
    completed = make_event(
        source="/hookline/sources/colt",
        type="colt.order.state_changed",
        subject="ORD-7",
        provider_event_id="evt_done",
        data={
            "order_id": "ORD-7",
            "status": "completed",
            "service_id": "SVC-1",
            "technical_contact": contact,
        },
    )
    progress = make_event(
        source="/hookline/sources/colt",
        type="colt.order.state_changed",
        subject="ORD-7",
        provider_event_id="evt_progress",
        data={
            "order_id": "ORD-7",
            "status": "in_progress",
            "service_id": "SVC-1",
            "technical_contact": contact,
        },
    )
    producer = await start_producer(settings.kafka, broker.bootstrap_servers, embedded=True)
    try:
        for event in (progress, completed, completed):  # the last one is a redelivery
            record = to_record(event, topics.events("colt"))
            await producer.send_and_wait(
                record.topic, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()

    worker = Worker(
        settings, await create_worker(settings), bootstrap_servers=broker.bootstrap_servers
    )
    await worker.start()
    try:
        commands = await consume_all(
            broker.bootstrap_servers, topics.commands("sms"), expect=1, timeout=20
        )
        await asyncio.sleep(1.0)  # give a wrong second command the time to appear
        commands = await consume_all(broker.bootstrap_servers, topics.commands("sms"), timeout=3)
    finally:
        await worker.stop()
    assert len(commands) == 1
    command = json.loads(commands[0].value)
    assert command["type"] == "sms.send"
    assert command["id"] == command_id("colt-order-completed-sms", completed.id)
    assert command["data"]["to"] == "+886912345678"
    assert commands[0].key == command["id"].encode()
