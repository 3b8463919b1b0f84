"""The worker's envelope decoder: msgspec for the common shape, the pydantic model otherwise.

Decoding the CloudEvent was the largest share of the worker's own CPU per record
(≈ 2–3 µs of pydantic-core validation, docs/worker.md). A msgspec struct
checks the same things about the common shape in ≈ 0.5 µs; the instance is then
built the way :func:`hookline.envelope.make_event` builds one, without a second
validation. Whatever the struct does not take — extension attributes it does not
name, numbers beyond the double range, ``NaN``, a time written some other way
pydantic allows, any invalid value — goes to the pydantic model, which then
accepts it or raises its own error. So the model stays the one definition of a
valid envelope: tests/worker/test_decode.py checks that whatever the fast path
accepts the model accepts too, as the same event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import msgspec.structs

from hookline.envelope import CloudEvent

__all__ = ["decode_event"]

_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
# RFC 3339 as hookline writes it, at most microseconds. Where parsers differ (more digits
# are rounded by msgspec and cut by pydantic; leap seconds, lower-case letters, the other
# forms pydantic allows), the model decides. Python's re: msgspec's own pattern
# constraint costs four times as much here.
_rfc3339 = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?", re.ASCII
).fullmatch


class _Envelope(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """CloudEvent's fields in the model's order, with its constraints and no room for what
    the model would treat differently: an unknown key (an extension the model keeps as an
    extra) is refused here. Not tracked by the garbage collector (it lives for one decode
    and holds no cycle): one allocation fewer per record to trigger a collection."""

    specversion: Literal["1.0"] = "1.0"
    id: _NonEmpty
    source: _NonEmpty
    type: _NonEmpty
    subject: str | None = None
    time: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    data: Any = None
    partitionkey: str | None = None
    traceparent: str | None = None
    provider: str | None = None
    providereventid: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    requestid: str | None = None


# strict: a string is a string (no number taken for one).
_fast = msgspec.json.Decoder(_Envelope, strict=True).decode
_slow = CloudEvent.__pydantic_validator__.validate_json
_asdict = msgspec.structs.asdict
_parse_time = datetime.fromisoformat
_new = CloudEvent.__new__
_set = object.__setattr__
_FIELDS_SET = set(CloudEvent.model_fields)
# The instance's __dict__ is the struct's fields in order: the same order as the model's.
assert _Envelope.__struct_fields__ == tuple(CloudEvent.model_fields), "decoder and model disagree"


def decode_event(value: bytes) -> CloudEvent:
    """The CloudEvent in ``value``; raises ``ValueError`` (pydantic's ``ValidationError``
    is one) for anything the model refuses."""
    try:
        parsed = _fast(value)
    except msgspec.DecodeError:
        # Not the common shape, or not valid at all: the model decides, with its own error.
        return _slow(value)  # type: ignore[no-any-return]
    written = parsed.time
    if written is None or _rfc3339(written) is None:
        # An explicit null is an error to the model, absent means now, and other forms are
        # the model's to read or refuse: let it.
        return _slow(value)  # type: ignore[no-any-return]
    try:
        when = _parse_time(written)
    except ValueError:
        # Out of range (month 13, hour 24, an offset of a day): the model's error.
        return _slow(value)  # type: ignore[no-any-return]
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    state = _asdict(parsed)
    state["time"] = when
    event = _new(CloudEvent)
    _set(event, "__dict__", state)
    _set(event, "__pydantic_fields_set__", _FIELDS_SET.copy())
    _set(event, "__pydantic_extra__", {})
    _set(event, "__pydantic_private__", None)
    return event
