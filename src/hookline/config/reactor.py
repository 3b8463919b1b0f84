"""Reactor rules in configuration (README.md#reactor-rules): event type + conditions → command."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

OPERATORS = ("eq", "ne", "in", "exists", "gt", "lt")


class Condition(BaseModel):
    """One test on a dotted path; every given operator must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    exists: bool | None = None
    gt: float | None = None
    lt: float | None = None

    @model_validator(mode="after")
    def _some_operator(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError(f"a condition needs one of: {', '.join(OPERATORS)}")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    on: str = Field(min_length=1, description="the event type the rule listens to")
    emit: str = Field(min_length=1, description="the command type it publishes")
    when: dict[str, Condition] = Field(default_factory=dict)
    args: dict[str, Any] = Field(default_factory=dict)


class ReactorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: the default rules of README.md#reactor-rules; [] switches the reactor's rules off.
    rules: list[Rule] | None = None
    include_defaults: bool = Field(
        default=False, description="with rules given, also keep the default rules"
    )
