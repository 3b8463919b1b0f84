"""Fault injection for simulators (docs/providers/simulators.md#admin-api).

A :class:`FaultSpec` is what ``POST /_sim/faults`` receives; :class:`FaultBook`
keeps the active faults in registration order and hands out the first one
that matches a request. Matching is on the request path without the query:
``*`` stands for exactly one path segment, ``**`` for any number of segments
(including none).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FaultSpec(BaseModel):
    """One fault as a client registers it; every field except ``path`` is optional."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)
    method: str | None = None
    status: int | None = Field(default=None, ge=100, le=599)
    count: int = Field(default=1, ge=0)
    retry_after: int | None = Field(default=None, ge=0)
    reset_in: int | None = Field(default=None, ge=0)
    delay_ms: int = Field(default=0, ge=0)
    malformed: bool = False
    disconnect: bool = False
    error_code: str | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path must start with /")
        return value

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @property
    def answers(self) -> bool:
        """Whether the fault answers itself; a delay-only fault lets the handler answer."""
        return (
            self.status is not None
            or self.error_code is not None
            or self.malformed
            or self.disconnect
        )


def compile_glob(pattern: str) -> re.Pattern[str]:
    """``/a/*/c`` matches one segment for ``*``; ``/a/**`` matches anything below ``/a``."""
    regex = ""
    for part in (p for p in pattern.split("/") if p):
        if part == "**":
            regex += r"(?:/[^/]+)*"
        elif part == "*":
            regex += r"/[^/]+"
        else:
            # A star inside a segment (``SM*.json``) stays within that segment.
            regex += "/" + re.escape(part).replace(r"\*", "[^/]*")
    return re.compile("^" + regex + "/?$")


@dataclass
class Fault:
    """An active fault: its spec, its id and how many more requests it affects."""

    id: str
    spec: FaultSpec
    remaining: int | None  # None: until reset or deleted
    pattern: re.Pattern[str] = field(repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.spec.method is not None and self.spec.method != method.upper():
            return False
        return self.pattern.match(path) is not None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec.model_dump(), "remaining": self.remaining}


class FaultBook:
    """The active faults of one simulator, in match order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self.applied = 0

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(
            id=f"flt_{next(self._ids)}",
            spec=spec,
            remaining=spec.count or None,
            pattern=compile_glob(spec.path),
        )
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, consumed once; counted in ``applied``."""
        for fault in self._faults:
            if fault.matches(method, path):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                self.applied += 1
                return fault
        return None

    def delete(self, fault_id: str) -> bool:
        for fault in self._faults:
            if fault.id == fault_id:
                self._faults.remove(fault)
                return True
        return False

    def active(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
        self._ids = itertools.count(1)
        self.applied = 0
