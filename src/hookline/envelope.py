"""The CloudEvents 1.0 envelope every Kafka value hookline writes (docs/architecture.md#the-event-envelope).

Pure: no Kafka, no HTTP. Serialization is structured JSON mode; Kafka headers
are added by :mod:`hookline.bus.codec`.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from pydantic_core import CoreConfig, CoreSchema, PydanticSerializationError, SchemaSerializer

from hookline.observability.entropy import token_hex, uuid4_str

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_URN_PREFIX = "urn:hookline:schema:"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event with hookline's extension attributes."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    data: Any = None
    partitionkey: str | None = None
    traceparent: str | None = None
    provider: str | None = None
    providereventid: str | None = None
    # The causation chain (schemas/README.md): the delivery this event belongs to
    # (the id of the first event a webhook delivery produced), and the event or
    # command that directly caused this one. A delivery's own events have no cause.
    correlationid: str | None = Field(
        default=None,
        description="The delivery this record belongs to: the id of the first event its webhook produced.",
    )
    causationid: str | None = Field(
        default=None, description="The id of the event or command that directly caused this record."
    )
    requestid: str | None = Field(
        default=None,
        description="The ingress's request id (X-Request-ID) of the webhook delivery that carried this event, or that what hookline derived it from descends from.",
    )

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # RFC 3339 needs an offset; pydantic then writes UTC as "Z" by itself.
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @field_serializer("data")
    def _data(self, value: Any) -> Any:
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else value

    def to_json(self) -> bytes:
        """Structured-mode JSON (``application/cloudevents+json``)."""
        # The serializer's bytes directly: model_dump_json decodes them to str first.
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        return cls.model_validate_json(raw)

    @property
    def key(self) -> str:
        """The Kafka key: the partition key, else the subject, else the id."""
        return self.partitionkey or self.subject or self.id


class UnrepresentableData(ValueError):
    """The event holds a value JSON in UTF-8 cannot spell (``reason`` names which)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _exact_serializer() -> SchemaSerializer:
    # The model's own schema, writing non-finite floats as bare NaN/Infinity instead of
    # null: then the value shows that something would have been altered.
    schema: dict[str, Any] = copy.deepcopy(dict(CloudEvent.__pydantic_core_schema__))
    config = {**schema.get("config", {}), "ser_json_inf_nan": "constants"}
    schema["config"] = config
    return SchemaSerializer(cast(CoreSchema, schema), cast(CoreConfig, config))


_EXACT = _exact_serializer()


def _not_json(name: str) -> None:
    raise UnrepresentableData("non_finite_number", f"{name} (a number beyond the double range?)")


def to_json_exact(event: CloudEvent) -> bytes:
    """:meth:`CloudEvent.to_json`, but raising :class:`UnrepresentableData` where that would
    write ``null`` for a non-finite number or fail (a lone surrogate, nesting deeper than
    the serializer's limit, an integer too long to print)."""
    try:
        value = _EXACT.to_json(event, exclude_none=True)
    except PydanticSerializationError as exc:
        raise UnrepresentableData("unserializable", str(exc)) from exc
    # One-byte searches (memchr) first: most events hold neither capital. Both words may
    # also be plain text inside a string; only a parse tells a constant apart.
    if (b"N" in value or b"I" in value) and (b"NaN" in value or b"Infinity" in value):
        json.loads(value, parse_constant=_not_json)
    return value


def event_id(source: str, provider_event_id: str) -> str:
    """Deterministic id: a provider's retry of one delivery maps to the same event id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source}/{provider_event_id}"))


def source_uri(source_name: str) -> str:
    return f"/hookline/sources/{source_name}"


def new_traceparent(parent: str | None = None) -> str:
    """Continue ``parent``'s trace with a new span, or start a new trace."""
    if not parent:
        ids = token_hex(24)  # trace id and span id from one draw
        return f"00-{ids[:32]}-{ids[32:]}-01"
    match = _TRACEPARENT.match(parent)
    trace_id = match.group(1) if match and match.group(1) != "0" * 32 else token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{token_hex(8)}-{flags}"


def make_event(
    *,
    source: str,
    type: str,
    data: Any,
    subject: str | None = None,
    provider: str | None = None,
    provider_event_id: str | None = None,
    time: datetime | None = None,
    id: str | None = None,
    traceparent: str | None = None,
    partitionkey: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    **extensions: Any,
) -> CloudEvent:
    """Build an event with hookline's conventions for id, schema, key and trace."""
    if id is None:
        id = event_id(source, provider_event_id) if provider_event_id else uuid4_str()
    when = time or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Every value here is built by us: no validation, and not even model_construct's
    # per-field alias/default walk (every field is given), which was ~5 % of a request.
    event = CloudEvent.__new__(CloudEvent)
    _set(
        event,
        "__dict__",
        {
            "specversion": "1.0",
            "id": id,
            "source": source,
            "type": type,
            "subject": subject,
            "time": when,
            "datacontenttype": "application/json",
            "dataschema": f"{SCHEMA_URN_PREFIX}{type}",
            "data": data,
            "partitionkey": partitionkey or subject or id,
            "traceparent": new_traceparent(traceparent),
            "provider": provider,
            "providereventid": provider_event_id,
            "correlationid": correlation_id,
            "causationid": causation_id,
            "requestid": None,
        },
    )
    _set(event, "__pydantic_fields_set__", _FIELDS_SET.copy())
    _set(event, "__pydantic_extra__", extensions)
    _set(event, "__pydantic_private__", None)
    return event


_set = object.__setattr__
_FIELDS_SET = set(CloudEvent.model_fields)
# make_event sets the instance state the way model_construct would; that holds
# only while the model has no aliases and no post-init hook.
assert not CloudEvent.__pydantic_post_init__
assert all(f.alias is None and f.validation_alias is None for f in CloudEvent.model_fields.values())
