"""CloudEvent ↔ Kafka record (structured mode), kept apart from the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hookline.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent

Headers = list[tuple[str, bytes]]


# Built once per event on the ingress path: not frozen (a frozen __init__ costs
# three times as much); nothing changes a record after it is made.
@dataclass(slots=True)
class Record:
    """What a producer writes: topic, key, value and headers."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)


_CONTENT_TYPE_HEADER = ("content-type", STRUCTURED_CONTENT_TYPE.encode())


def to_record(event: CloudEvent, topic: str, value: bytes | None = None) -> Record:
    """``value``: the event already serialized (the ingress writes it with ``to_json_exact``)."""
    headers: Headers = [_CONTENT_TYPE_HEADER]
    if event.traceparent:
        headers.append(("traceparent", event.traceparent.encode()))
    # No ce_* headers: SDKs take any ce_ header to mean binary mode and would
    # then ignore the structured value.
    if value is None:
        value = event.to_json()
    return Record(topic=topic, key=event.key.encode(), value=value, headers=headers)


def from_value(value: bytes | None) -> CloudEvent:
    if value is None:
        raise ValueError("tombstone record has no CloudEvent")
    return CloudEvent.from_json(value)


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> bytes | None:
    for key, value in headers or ():
        if key == name:
            return value
    return None
