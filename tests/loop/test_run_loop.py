"""The whole loop through `hookline run` as a user starts it: every default rule end to end.

One `hookline run` subprocess (embedded broker, ingress, all workers, the
reactor and every simulator, from the shipped development configuration with
free ports) serves the whole module; each test drives it from outside, as a
downstream team would: commands in, events out, over Kafka.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer

from hookline.bus.codec import to_record
from hookline.bus.topics import COMMAND_SERVICES, EVENT_DOMAINS
from hookline.envelope import make_event
from hookline.reactor.engine import command_id
from tests.support.kafka import consume_all

HOOKLINE = [sys.executable, "-m", "hookline"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def demo(config: Path, scenario: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOOKLINE, "--config", str(config), "demo", scenario, "--timeout", "45"],
        capture_output=True,
        text=True,
        timeout=240,
        env=ENV,
        check=False,
    )


@pytest.mark.parametrize(
    ("scenario", "rule"),
    [
        ("colt-order", "colt-order-completed-sms"),
        ("reservation-cancel", "reservation-cancelled-sms"),
        ("charging", "charging-completed-receipt"),
    ],
)
def test_each_default_rule_ends_in_a_delivered_sms(
    loop: tuple[Path, str], scenario: str, rule: str
) -> None:
    """Provider webhook → event → rule → sms.send → SMS provider → delivery report, per default rule."""
    config, _ = loop
    result = demo(config, scenario)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"(rule {rule})" in result.stdout
    assert "sms.message.delivered" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("done: ")


async def _publish(bootstrap: str, topic: str, *events: Any) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            record = to_record(event, topic)
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


def _order_event(order_id: str, status: str, provider_event_id: str) -> Any:
    return make_event(
        source="/hookline/sources/colt",
        type="colt.order.state_changed",
        subject=order_id,
        provider="colt",
        provider_event_id=provider_event_id,
        data={
            "order_id": order_id,
            "status": status,
            "previous_status": "in_progress",
            "service_id": "SVC-X",
            "technical_contact": {"name": "Ada", "phone": "+886912345678"},
        },
    )


async def test_non_matching_event_yields_nothing_and_redelivery_no_second_command(
    loop: tuple[Path, str],
) -> None:
    """A condition that does not hold emits nothing; the same event delivered twice emits one command."""
    _, bootstrap = loop
    order = f"ORD-T{uuid.uuid4().hex[:6]}"
    quiet = _order_event(order, "in_progress", f"evt_{uuid.uuid4().hex}")
    done = _order_event(order, "completed", f"evt_{uuid.uuid4().hex}")
    await _publish(bootstrap, "hookline.events.colt", quiet, done, done)
    expected = command_id("colt-order-completed-sms", done.id)
    commands: list[dict[str, Any]] = []
    for _ in range(40):
        records = await consume_all(bootstrap, "hookline.commands.sms", timeout=2)
        commands = [json.loads(r.value) for r in records]
        if any(c["id"] == expected for c in commands):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # time for a wrong second command to show up
    commands = [
        json.loads(r.value)
        for r in await consume_all(bootstrap, "hookline.commands.sms", timeout=3)
    ]
    ours = [c for c in commands if c["data"].get("reference") == f"colt:{order}"]
    assert [c["id"] for c in ours] == [expected]


async def test_emitted_events_match_the_exported_schemas(loop: tuple[Path, str]) -> None:
    """Every event and command the loop wrote validates against schemas/ (envelope and data);
    generic sources' events (their own topic, the provider's own type) have only the envelope."""
    _, bootstrap = loop
    assert demo(loop[0], "colt-order").returncode == 0
    envelope = json.loads((SCHEMAS / "envelope.json").read_text())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    consumer.subscribe(pattern=r"^hookline\.(events|commands)\..*")
    catalogued = {f"hookline.events.{d}" for d in EVENT_DOMAINS} | {
        f"hookline.commands.{s}" for s in COMMAND_SERVICES
    }
    await consumer.start()
    checked: dict[str, int] = {}
    try:
        for _ in range(10):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    jsonschema.validate(event, envelope)
                    if record.topic not in catalogued:
                        continue
                    folder = "commands" if ".commands." in record.topic else "events"
                    schema_file = SCHEMAS / folder / f"{event['type']}.json"
                    assert schema_file.exists(), f"{event['type']} has no exported schema"
                    jsonschema.Draft202012Validator(json.loads(schema_file.read_text())).validate(
                        event["data"]
                    )
                    checked[event["type"]] = checked.get(event["type"], 0) + 1
    finally:
        await consumer.stop()
    assert {
        "colt.order.state_changed",
        "sms.send",
        "sms.message.delivered",
        "colt.quote.created",
    } <= set(checked)
