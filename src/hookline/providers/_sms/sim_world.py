"""The simulated handsets the three SMS simulators share in behaviour (docs/providers/sms.md#simulated-handsets).

Each simulator keeps one :class:`SmsWorld`: the messages it accepted, how each
will end (by the destination's last digits, or an outcome forced for a number
through ``POST /_sim/sms/outcomes``), and how many times each logical message
and each attempt key really reached the send handler — the counters the
exactly-once tests read. Progress is one step per tick: queued → sent → final.
The simulator around the world is :class:`hookline.providers._sms.simkit.SmsSimulator`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.sandbox.callbacks import SERVING_TRACEPARENT

__all__ = [
    "FINAL",
    "GONE",
    "Outcome",
    "OutcomeOrder",
    "Reporter",
    "SimMessage",
    "SmsWorld",
    "Status",
    "complete_form",
    "outcome_for",
]

Outcome = Literal["deliver", "fail", "silent", "invalid"]
Status = Literal["queued", "sent", "delivered", "failed", "undelivered"]
FINAL: frozenset[str] = frozenset({"delivered", "failed", "undelivered"})


async def complete_form(request: Request) -> dict[str, str] | None:
    """The form fields of a request, or None when the client went away before the body ended.

    A client killed mid-request leaves a truncated body; a real API never acts on
    one, so neither does a simulator (and a 5xx answer is not kept for replay).
    """
    raw = await request.body()
    if await request.is_disconnected():
        return None
    charset = (
        "big5"
        if request.url.path.endswith("SmSend")
        and (request.query_params.get("CharsetURL", "").upper() != "UTF-8")
        else "utf-8"
    )
    return dict(parse_qsl(raw.decode(charset, errors="replace"), keep_blank_values=True))


GONE = 503  # the status for a request whose client disconnected (never stored for replay)


def outcome_for(number: str) -> Outcome:
    """docs/providers/sms.md#simulated-handsets: ``…0001`` invalid at send, ``…0002`` fails after acceptance, ``…0003`` never reports."""
    digits = "".join(ch for ch in number if ch.isdigit())
    by_suffix: dict[str, Outcome] = {"0001": "invalid", "0002": "fail", "0003": "silent"}
    return by_suffix.get(digits[-4:], "deliver")


@dataclass
class SimMessage:
    id: str
    to: str  # E.164
    body: str
    outcome: Outcome
    ref: str | None  # hookline's message id, as the client put it in the request
    attempt_key: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # provider fields (callback URL, …)
    status: Status = "queued"
    reported: list[str] = field(default_factory=list)
    # The trace context of the send request, so its later reports continue that trace.
    traceparent: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "body": self.body,
            "status": self.status,
            "outcome": self.outcome,
            "ref": self.ref,
            "attempt_key": self.attempt_key,
            "reported": list(self.reported),
        }


class OutcomeOrder(BaseModel):
    """``POST /_sim/sms/outcomes``: force how messages to ``number`` end."""

    model_config = ConfigDict(extra="forbid")

    number: str
    outcome: Outcome


# A report step: the simulator turns (message, new status) into a signed callback.
Reporter = Callable[[SimMessage, Status], None]


class SmsWorld:
    def __init__(self, prefix: str = "", first_id: int = 1) -> None:
        self._prefix = prefix
        self._first = first_id
        self._ids = itertools.count(first_id)
        self.messages: dict[str, SimMessage] = {}
        self.forced: dict[str, Outcome] = {}
        self.sends_by_ref: Counter[str] = Counter()
        self.sends_by_key: Counter[str] = Counter()

    def next_id(self) -> str:
        return f"{self._prefix}{next(self._ids)}"

    def outcome(self, number: str) -> Outcome:
        return self.forced.get(number) or outcome_for(number)

    def accept(
        self,
        message_id: str,
        to: str,
        body: str,
        *,
        outcome: Outcome,
        ref: str | None,
        attempt_key: str | None,
        **extra: Any,
    ) -> SimMessage:
        """Record a message that really went out (never called for a replay or duplicate)."""
        message = SimMessage(message_id, to, body, outcome, ref, attempt_key, dict(extra))
        message.traceparent = SERVING_TRACEPARENT.get()
        self.messages[message_id] = message
        if ref:
            self.sends_by_ref[ref] += 1
        if attempt_key:
            self.sends_by_key[attempt_key] += 1
        return message

    async def advance(self, report: Reporter) -> None:
        """One tick: every open message moves one step and is reported (``silent`` never is)."""
        for message in list(self.messages.values()):
            if message.status in FINAL:
                continue
            if message.status == "queued":
                message.status = "sent"
            elif message.outcome == "fail":
                message.status = "undelivered"
            else:
                message.status = "delivered"
            if message.outcome != "silent":
                message.reported.append(message.status)
                serving = SERVING_TRACEPARENT.set(message.traceparent)
                try:
                    report(message, message.status)
                finally:
                    SERVING_TRACEPARENT.reset(serving)

    def state(self) -> dict[str, Any]:
        duplicates = {ref: n for ref, n in self.sends_by_ref.items() if n > 1}
        return {
            "entities": {"messages": {k: m.as_json() for k, m in self.messages.items()}},
            "sms": {
                "sent": sum(self.sends_by_ref.values()),
                "by_ref": dict(self.sends_by_ref),
                "by_attempt_key": dict(self.sends_by_key),
                "duplicates": duplicates,
                "forced": dict(self.forced),
            },
        }

    def reset(self) -> None:
        self.messages.clear()
        self.forced.clear()
        self.sends_by_ref.clear()
        self.sends_by_key.clear()
        self._ids = itertools.count(self._first)

    def admin_routes(self) -> list[Route]:
        """``/_sim/sms/outcomes``: force or clear a number's outcome (docs/providers/simulators.md#admin-api style, JSON)."""

        async def force(request: Request) -> Response:
            try:
                order = OutcomeOrder.model_validate_json(await request.body())
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            self.forced[order.number] = order.outcome
            return JSONResponse(order.model_dump(), status_code=201)

        async def listing(request: Request) -> Response:
            return JSONResponse(self.forced)

        async def clear(request: Request) -> Response:
            self.forced.pop(request.path_params["number"], None)
            return Response(status_code=204)

        return [
            Route("/_sim/sms/outcomes", force, methods=["POST"]),
            Route("/_sim/sms/outcomes", listing, methods=["GET"]),
            Route("/_sim/sms/outcomes/{number}", clear, methods=["DELETE"]),
        ]
