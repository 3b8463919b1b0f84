"""An AsyncAPI 3.0 document of every topic hookline reads or writes, its key and messages."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from typing import Any

from hookline import __version__
from hookline.contracts.jsonschemas import data_schema, envelope_schema
from hookline.messages import MessageType

_KAFKA_BINDING = "0.5.0"


def _ident(text: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", text)
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _rebase_refs(node: Any, base: str) -> Any:
    """Pydantic's ``#/$defs/X`` refs point at the schema root; inside components they need a base.

    AsyncAPI's schema object takes ``discriminator`` as the property name only
    (OpenAPI's object form is not allowed there).
    """
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/"):
                out[k] = base + v[1:]
            elif k == "discriminator" and isinstance(v, dict):
                out[k] = v.get("propertyName")
            else:
                out[k] = _rebase_refs(v, base)
        return out
    if isinstance(node, list):
        return [_rebase_refs(v, base) for v in node]
    return node


def document(types: dict[str, MessageType], prefix: str = "hookline") -> dict[str, Any]:
    by_topic: dict[str, list[MessageType]] = defaultdict(list)
    for message in types.values():
        by_topic[message.topic].append(message)

    schemas: dict[str, Any] = {"CloudEvent": _strip_meta(envelope_schema())}
    messages: dict[str, Any] = {}
    for name, message in sorted(types.items()):
        schema = _strip_meta(data_schema(message))
        schemas[name] = _rebase_refs(schema, f"#/components/schemas/{name}")
        messages[_ident(name)] = {
            "name": name,
            "title": name,
            "summary": (message.description or name).strip().split("\n")[0],
            "contentType": "application/cloudevents+json",
            "headers": {
                "type": "object",
                "properties": {
                    "content-type": {"type": "string", "const": "application/cloudevents+json"},
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                },
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": name},
                            "dataschema": {"const": f"urn:hookline:schema:{name}"},
                            "data": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"the {message.key}"},
                    "bindingVersion": _KAFKA_BINDING,
                }
            },
        }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in sorted(by_topic):
        channel = _ident(topic)
        members = sorted(by_topic[topic], key=lambda m: m.type)
        kind = members[0].kind
        channels[channel] = {
            "address": f"{prefix}.{topic}",
            "title": f"{prefix}.{topic}",
            "description": _describe(topic, members),
            "messages": {
                _ident(m.type): {"$ref": f"#/components/messages/{_ident(m.type)}"} for m in members
            },
            "bindings": {"kafka": {"topic": f"{prefix}.{topic}", "bindingVersion": _KAFKA_BINDING}},
        }
        action = "receive" if kind == "command" else "send"
        operations[f"{action}{channel[:1].upper()}{channel[1:]}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": (
                f"hookline consumes commands from {prefix}.{topic}"
                if action == "receive"
                else f"hookline publishes to {prefix}.{topic}"
            ),
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{_ident(m.type)}"} for m in members
            ],
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "hookline",
            "version": __version__,
            "description": (
                "Topics hookline writes (normalized events, result events, dead letters) and reads "
                f"(commands). Topic names carry the configurable prefix `{prefix}`. Every value is a "
                "CloudEvents 1.0 event in structured JSON mode; the key is the entity the event is "
                "about, so per-entity order holds within a partition."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "Your Kafka cluster (kafka.bootstrap_servers).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _strip_meta(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out.pop("$schema", None)
    out.pop("$id", None)
    return out


def _describe(topic: str, members: list[MessageType]) -> str:
    kind, _, rest = topic.partition(".")
    if kind == "commands":
        return f"Commands for the {rest} worker: publish one to ask hookline to act."
    if kind == "dlq":
        return f"Dead letters of {rest}."
    if kind == "audit":
        return f"The audit trail ({rest}): one record per outbound provider call; key: {members[0].key}."
    return f"Normalized {rest} events; key: {members[0].key}."
