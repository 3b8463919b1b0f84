"""Apply rules to an event: pure, so the same event always yields the same commands."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hookline.config.reactor import Condition, Rule
from hookline.envelope import CloudEvent, make_event
from hookline.messages.phone import InvalidPhoneNumber, validate_e164
from hookline.reactor.paths import MISSING, lookup
from hookline.reactor.templates import MissingValue, Template

_PHONE_NOISE = re.compile(r"[\s\-()]")


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    args: dict[str, Any]  # values: Template, or nested dicts/lists of them, or literals

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True)
class Outcome:
    rule: str
    command: CloudEvent | None
    skipped: str | None = None  # reason: "condition", "missing:<path>", "invalid_phone"


def compile_args(value: Any) -> Any:
    if isinstance(value, str):
        return Template.compile(value) if "{{" in value else value
    if isinstance(value, dict):
        return {k: compile_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_args(v) for v in value]
    return value


def compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(rule, compile_args(rule.args))


def _render(value: Any, document: dict[str, Any]) -> Any:
    if isinstance(value, Template):
        return value.render(document)
    if isinstance(value, dict):
        return {k: _render(v, document) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, document) for v in value]
    return value


def _number(value: Any) -> float | None:
    """A comparable number, or None (booleans are not numbers here, though Python says so)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compares(condition: Condition, given: set[str], value: Any) -> bool:
    """``gt`` / ``lt``: the value must be a number on the right side of each bound given."""
    if "gt" not in given and "lt" not in given:
        return True
    number = _number(value)
    if number is None:
        return False
    if "gt" in given and not (condition.gt is not None and number > condition.gt):
        return False
    return "lt" not in given or (condition.lt is not None and number < condition.lt)


def holds(condition: Condition, value: Any) -> bool:
    given = condition.model_fields_set
    present = value is not MISSING and value is not None
    if "exists" in given and condition.exists != present:
        return False
    if "eq" in given and (not present or value != condition.eq):
        return False
    if "ne" in given and present and value == condition.ne:
        return False
    if "in_" in given and (not present or value not in (condition.in_ or [])):
        return False
    return _compares(condition, given, value if present else None)


def command_id(rule: str, event_id: str) -> str:
    """Deterministic: a redelivered event yields the same command id (README.md#reactor-rules)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"/hookline/reactor/{rule}/{event_id}"))


def normalize_phone(number: Any) -> str:
    return validate_e164(_PHONE_NOISE.sub("", str(number)))


class Engine:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = [compile_rule(r) for r in rules]
        self.by_type: dict[str, list[CompiledRule]] = {}
        for compiled in self.rules:
            self.by_type.setdefault(compiled.rule.on, []).append(compiled)

    @property
    def event_types(self) -> set[str]:
        return set(self.by_type)

    def react(self, event: CloudEvent) -> list[Outcome]:
        document = event.model_dump(mode="json")
        outcomes = []
        for compiled in self.by_type.get(event.type, []):
            outcomes.append(self._apply(compiled, event, document))
        return outcomes

    def _apply(
        self, compiled: CompiledRule, event: CloudEvent, document: dict[str, Any]
    ) -> Outcome:
        rule = compiled.rule
        for path, condition in rule.when.items():
            if not holds(condition, lookup(document, path)):
                return Outcome(rule.name, None, "condition")
        try:
            data = _render(compiled.args, document)
        except MissingValue as exc:
            return Outcome(rule.name, None, f"missing:{exc.path}")
        if rule.emit == "sms.send" and "to" in data:
            try:
                data["to"] = normalize_phone(data["to"])
            except InvalidPhoneNumber:
                return Outcome(rule.name, None, "invalid_phone")
        identifier = command_id(rule.name, event.id)
        data["command_id"] = identifier
        command = make_event(
            id=identifier,
            source=f"/hookline/reactor/{rule.name}",
            type=rule.emit,
            subject=identifier,
            data=data,
            traceparent=event.traceparent,
            causation_id=event.id,
        )
        # Copied, not continued: the command belongs to the triggering event's trace.
        command.traceparent = event.traceparent or command.traceparent
        return Outcome(rule.name, command)
