"""Query strings into the operations' filters, one parser for the API, the console and the CLI.

A value that cannot be read raises :class:`BadQuery` with a sentence for the
user (a 400 problem, a message on the page, an error line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hookline.admin.dead_letters import LetterFilter
from hookline.admin.events import EventQuery

MAX_LIMIT = 500
_AGO = {"m": 60, "h": 3600, "d": 86_400}
# An age is at most five digits and a unit (99999 days still lands after year 1).
_AGE = re.compile(r"^[0-9]{1,5}[mhd]$")
_WHOLE = re.compile(r"^[0-9]{1,9}$")


REPLAYED = ("yes", "no", "true", "false")
LETTER_FIELDS = ("service", "reason", "error_class", "since", "until", "replayed")


class BadQuery(ValueError):
    """A filter value that cannot be read."""


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    return value or None


def moment(value: str | None, name: str, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 time (naive means UTC) or an age such as ``15m``, ``2h``, ``1d``."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _AGE.match(value):
        return (now or datetime.now(UTC)) - timedelta(seconds=int(value[:-1]) * _AGO[value[-1]])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"{name} must be an ISO 8601 time or an age like 15m, 2h, 1d") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _number(params: Mapping[str, str], name: str, default: int, high: int) -> int:
    """A whole number, held to at most ``high``."""
    raw = params.get(name, "")
    if raw == "":
        return default
    if not _WHOLE.match(raw):
        raise BadQuery(f"{name} must be a whole number")
    return min(int(raw), high)


def event_query(params: Mapping[str, str]) -> EventQuery:
    kind = _text(params, "kind")
    if kind not in (None, "events", "commands"):
        raise BadQuery("kind must be events or commands")
    return EventQuery(
        id=_text(params, "id"),
        providereventid=_text(params, "providereventid"),
        type=_text(params, "type"),
        subject=_text(params, "subject"),
        source=_text(params, "source"),
        text=_text(params, "q"),
        since=moment(params.get("since"), "since"),
        until=moment(params.get("until"), "until"),
        kind=kind,
        limit=max(1, _number(params, "limit", 50, MAX_LIMIT)),
        offset=_number(params, "offset", 0, 1_000_000),
    )


def letter_filter(params: Mapping[str, str], ids: Sequence[str] = ()) -> LetterFilter:
    replayed = _text(params, "replayed")
    if replayed not in (None, *REPLAYED):
        raise BadQuery("replayed must be yes or no")
    return LetterFilter(
        service=_text(params, "service"),
        reason=_text(params, "reason"),
        error_class=_text(params, "error_class"),
        since=moment(params.get("since"), "since"),
        until=moment(params.get("until"), "until"),
        ids=tuple(i for i in ids if i),
        replayed=None if replayed is None else replayed in ("yes", "true"),
    )


class LetterFields(BaseModel):
    """A dead-letter filter in a JSON body: the query parameters of ``/admin/dlq/letters``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    service: str | None = None
    reason: str | None = None
    error_class: str | None = None
    since: str | None = None
    until: str | None = None
    replayed: Literal["", "yes", "no", "true", "false"] | None = None

    def params(self) -> dict[str, str]:
        """The fields given (an empty string, as a form sends it, is no filter)."""
        return {k: v for k, v in self.model_dump().items() if v}


class ReplayRequest(BaseModel):
    """``POST /admin/dlq/replay``: which letters, and whether only to say what would be done.

    Naming nothing selects nothing: the answer is an empty plan.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: list[str] = Field(default_factory=list)
    filter: LetterFields | None = None
    all: bool = False
    dry_run: bool = True

    def selection(self) -> LetterFilter | None:
        """The filter to replay, or None when the request names nothing."""
        if not (self.ids or self.filter or self.all):
            return None
        return letter_filter(self.filter.params() if self.filter else {}, self.ids)
