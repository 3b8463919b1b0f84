"""The CloudEvent envelope: ids, attributes, and what the official SDK reads."""

from __future__ import annotations

import json
import re

from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat

from hookline.bus.codec import from_value, to_record
from hookline.envelope import STRUCTURED_CONTENT_TYPE, event_id, make_event, new_traceparent

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def test_event_id_is_deterministic_per_source_and_provider_id() -> None:
    """The same provider delivery maps to the same id; another source or id does not."""
    a = event_id("/hookline/sources/colt", "evt_1")
    assert a == event_id("/hookline/sources/colt", "evt_1")
    assert a != event_id("/hookline/sources/colt", "evt_2")
    assert a != event_id("/hookline/sources/other", "evt_1")


def test_make_event_fills_conventions() -> None:
    """dataschema, partition key, trace context and provider ids follow docs/architecture.md#the-event-envelope."""
    event = make_event(
        source="/hookline/sources/colt",
        type="colt.order.state_changed",
        subject="ORD-1",
        data={"status": "completed"},
        provider="colt",
        provider_event_id="evt_9",
    )
    assert event.id == event_id("/hookline/sources/colt", "evt_9")
    assert event.dataschema == "urn:hookline:schema:colt.order.state_changed"
    assert event.partitionkey == "ORD-1"
    assert TRACEPARENT.match(event.traceparent or "")


def test_traceparent_continues_incoming_trace() -> None:
    """An incoming trace id is kept with a new span; garbage starts a new trace."""
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    child = new_traceparent(parent)
    assert child.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.split("-")[2] != "00f067aa0ba902b7"
    assert new_traceparent("nonsense").split("-")[1] != "4bf92f3577b34da6a3ce929d0e0e4736"


def test_record_is_structured_mode_and_round_trips() -> None:
    """The Kafka value is structured JSON with the CloudEvents content type header."""
    event = make_event(source="/s", type="a.b.c", subject="k1", data={"x": 1})
    record = to_record(event, "topic")
    assert ("content-type", STRUCTURED_CONTENT_TYPE.encode()) in record.headers
    assert record.key == b"k1"
    body = json.loads(record.value)
    assert body["specversion"] == "1.0" and body["time"].endswith("Z")
    assert from_value(record.value) == event


def test_official_sdk_reads_what_we_write() -> None:
    """The CloudEvents Python SDK's Kafka binding parses our records with every attribute."""
    event = make_event(
        source="/hookline/sources/billing",
        type="billing.invoice.paid",
        subject="inv_1",
        data={"amount": 42},
        provider="standard",
        provider_event_id="msg_1",
    )
    record = to_record(event, "t")
    message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    parsed = from_kafka(message, JSONFormat())
    attributes = parsed.get_attributes()
    assert attributes["id"] == event.id
    assert attributes["type"] == "billing.invoice.paid"
    assert attributes["source"] == "/hookline/sources/billing"
    assert attributes["subject"] == "inv_1"
    assert attributes["partitionkey"] == "inv_1"
    assert attributes["providereventid"] == "msg_1"
    assert parsed.get_data() == {"amount": 42}
