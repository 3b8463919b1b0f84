"""Result events of Colt commands: deterministic ids, ``data.command_id``, keyed by entity.

A redelivered command yields the same result id
(``event_id(source, "{command_id}:{result}")``), so consumers can drop repeats.
"""

from __future__ import annotations

from pydantic import BaseModel

from hookline.envelope import CloudEvent, event_id, make_event

SERVICE = "colt"
SOURCE = f"/hookline/workers/{SERVICE}"


def result_event(
    command: CloudEvent,
    type_: str,
    data: BaseModel,
    subject: str,
    *,
    anchor: str | None = None,
    suffix: str | None = None,
) -> CloudEvent:
    """The event ``type_`` answering ``command``.

    ``anchor`` is the command id the id derives from (a watch's checks answer
    the original watch command); ``suffix`` distinguishes several per command.
    """
    name = f"{anchor or command.id}:{type_}" + (f":{suffix}" if suffix else "")
    return make_event(
        id=event_id(SOURCE, name),
        source=SOURCE,
        type=type_,
        subject=subject,
        data=data.model_dump(mode="json"),
        provider="colt",
        traceparent=command.traceparent,
    )


def internal_command(
    command: CloudEvent, type_: str, data: BaseModel, subject: str, name: str
) -> CloudEvent:
    """A command the worker writes to itself (a watch's next check), id derived from ``name``."""
    return make_event(
        id=event_id(SOURCE, name),
        source=SOURCE,
        type=type_,
        subject=subject,
        data=data.model_dump(mode="json"),
        traceparent=command.traceparent,
    )
