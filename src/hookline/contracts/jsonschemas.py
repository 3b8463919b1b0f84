"""JSON Schema (draft 2020-12) of every event and command ``data``, and of the envelope."""

from __future__ import annotations

from typing import Any

from hookline.envelope import SCHEMA_URN_PREFIX, CloudEvent
from hookline.messages import MessageType

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def data_schema(message: MessageType) -> dict[str, Any]:
    """The schema that ``dataschema: urn:hookline:schema:<type>`` names."""
    schema = message.model.model_json_schema(mode="serialization")
    description = message.description or schema.get("description", "")
    return {
        "$schema": DRAFT,
        "$id": f"{SCHEMA_URN_PREFIX}{message.type}",
        **schema,
        "title": message.type,
        "description": description.strip(),
        "x-hookline": {"kind": message.kind, "topic": message.topic, "key": message.key},
    }


def envelope_schema() -> dict[str, Any]:
    """The CloudEvents 1.0 envelope with hookline's extension attributes."""
    schema = CloudEvent.model_json_schema(mode="serialization")
    schema["properties"]["time"] = {"type": "string", "format": "date-time", "title": "Time"}
    schema["properties"]["data"] = {"description": "The type's data; see its dataschema."}
    return {
        "$schema": DRAFT,
        "$id": f"{SCHEMA_URN_PREFIX}cloudevent",
        **schema,
        "title": "CloudEvent",
        "description": (
            "Every Kafka value hookline writes: a CloudEvents 1.0 event in structured JSON mode "
            "(Kafka header content-type: application/cloudevents+json)."
        ),
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype"],
    }
