"""The audit trail of a handler attempt: one ``hookline.http.call`` record per provider call.

The HTTP layer appends each finished call to :data:`hookline.http.audit.CALLS`;
the worker sets a :class:`Trail` around each handler attempt, whose list that
is. What the handler calls is written to ``<prefix>.audit.http`` in the
command's chain (caused by the command, in its correlation), queued just before
the next event the handler emits (a write of its own, so a failing audit write
never fails the emit), so the call comes before the result it led to; calls
after the last emit are written when the attempt ends. Records get ids from
the command, the attempt and the call's place, so a repeated write (a crash
before the record was settled) repeats the same ids.
"""

from __future__ import annotations

from contextvars import ContextVar

from hookline.bus.codec import Record, to_record
from hookline.envelope import CloudEvent, event_id, make_event
from hookline.http.audit import Call
from hookline.messages.audit import HttpCall

__all__ = ["CALL_TYPE", "TRAIL", "Trail"]

CALL_TYPE = "hookline.http.call"


class Trail:
    """The calls of one attempt at one command, and which of them are written already."""

    __slots__ = ("attempt", "calls", "command", "service", "topic", "written")

    def __init__(self, service: str, topic: str, command: CloudEvent, attempt: int) -> None:
        self.service = service
        self.topic = topic
        self.command = command
        self.attempt = attempt
        self.calls: list[Call] = []
        self.written = 0

    def take(self) -> list[Record]:
        """Records for the calls not written yet (marked written: write them now)."""
        command = self.command
        source = f"/hookline/workers/{self.service}"
        records = []
        for index in range(self.written, len(self.calls)):
            call = self.calls[index]
            data = HttpCall(
                **call.as_dict(),
                service=self.service,
                command_id=command.id,
                command_type=command.type,
                attempt=self.attempt,
            ).model_dump(mode="json")
            audit = make_event(
                id=event_id(source, f"{command.id}:http:{self.attempt}:{index}"),
                source=source,
                type=CALL_TYPE,
                subject=command.id,
                data=data,
                provider=call.provider,
                time=call.at,
                traceparent=command.traceparent,
                correlation_id=command.correlationid or command.id,
                causation_id=command.id,
            )
            audit.requestid = command.requestid
            records.append(to_record(audit, self.topic))
        self.written = len(self.calls)
        return records


# The attempt running in this context, when its calls are audited.
TRAIL: ContextVar[Trail | None] = ContextVar("hookline_audit_trail", default=None)
