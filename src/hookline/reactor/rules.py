"""Which rules are in force, and whether they make sense (used by ``config check``)."""

from __future__ import annotations

from typing import Any

from hookline.config.loader import Problem
from hookline.config.models import HooklineSettings
from hookline.config.reactor import Rule
from hookline.messages import MessageType, all_types
from hookline.reactor.defaults import DEFAULT_RULES
from hookline.reactor.templates import Template, TemplateError

ENVELOPE_FIELDS = {
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "dataschema",
    "partitionkey",
    "traceparent",
    "provider",
    "providereventid",
    "specversion",
}


def active_rules(settings: HooklineSettings) -> list[Rule]:
    configured = settings.reactor.rules
    if configured is None:
        return list(DEFAULT_RULES)
    if settings.reactor.include_defaults:
        names = {r.name for r in configured}
        return [*configured, *(r for r in DEFAULT_RULES if r.name not in names)]
    return list(configured)


def _schema_has_path(schema: dict[str, Any], root: dict[str, Any], parts: list[str]) -> bool:
    if not parts:
        return True
    if "$ref" in schema:
        ref = schema["$ref"].removeprefix("#/$defs/")
        return _schema_has_path(root.get("$defs", {}).get(ref, {}), root, parts)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return any(_schema_has_path(s, root, parts) for s in schema[key])
    if schema.get("type") == "array" and parts[0].isdigit():
        return _schema_has_path(schema.get("items", {}), root, parts[1:])
    properties = schema.get("properties")
    if properties is None:
        # A free-form object (dict[str, Any]) can hold any key.
        return (
            schema.get("type") == "object" and schema.get("additionalProperties", True) is not False
        )
    if parts[0] not in properties:
        return False
    return _schema_has_path(properties[parts[0]], root, parts[1:])


def path_problem(path: str, message: MessageType | None) -> str | None:
    head, _, rest = path.partition(".")
    if head in ENVELOPE_FIELDS and not rest:
        return None
    if head != "data":
        return f"{path!r} is neither an envelope attribute nor under data."
    if message is None or not rest:
        return None
    schema = message.model.model_json_schema(mode="serialization")
    if not _schema_has_path(schema, schema, rest.split(".")):
        return f"{message.type} has no field {rest!r}"
    return None


def _templates(value: Any) -> list[Template]:
    if isinstance(value, str) and "{{" in value:
        return [Template.compile(value)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _templates(v)]
    if isinstance(value, list):
        return [t for v in value for t in _templates(v)]
    return []


def _type_problems(where: str, rule: Rule, types: dict[str, MessageType]) -> list[Problem]:
    problems: list[Problem] = []
    event = types.get(rule.on)
    if event is None or event.kind != "event":
        problems.append(Problem(f"{where}.on", f"unknown event type {rule.on!r}"))
    command = types.get(rule.emit)
    if command is None or command.kind != "command":
        problems.append(Problem(f"{where}.emit", f"unknown command type {rule.emit!r}"))
    if rule.on.startswith("sms.") and rule.emit == "sms.send":
        problems.append(Problem(where, "a rule on sms.* that emits sms.send would loop"))
    return problems


def _arg_problems(where: str, rule: Rule, event: MessageType | None) -> list[Problem]:
    """Templates that do not parse, or name a field the event's schema lacks."""
    problems: list[Problem] = []
    for key, value in rule.args.items():
        try:
            templates = _templates(value)
        except TemplateError as exc:
            problems.append(Problem(f"{where}.args.{key}", str(exc)))
            continue
        for template in templates:
            for path in template.paths:
                issue = path_problem(path, event)
                if issue:
                    problems.append(Problem(f"{where}.args.{key}", issue))
    return problems


def _command_problems(where: str, rule: Rule, command: MessageType | None) -> list[Problem]:
    """Arguments the command's model does not have."""
    if command is None or command.kind != "command":
        return []
    fields = command.model.model_json_schema().get("properties", {})
    return [
        Problem(f"{where}.args.{key}", f"{rule.emit} has no argument {key!r}")
        for key in rule.args
        if key not in fields
    ]


def rule_problems(settings: HooklineSettings) -> list[Problem]:
    """Unknown event/command types, fields the event's schema lacks, bad templates, loops."""
    types = all_types()
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, rule in enumerate(settings.reactor.rules or []):
        where = f"reactor.rules[{index}]"
        if rule.name in seen:
            problems.append(Problem(f"{where}.name", f"duplicate rule name {rule.name!r}"))
        seen.add(rule.name)
        event = types.get(rule.on)
        problems += _type_problems(where, rule, types)
        for path in rule.when:
            issue = path_problem(path, event)
            if issue:
                problems.append(Problem(f"{where}.when.{path}", issue))
        problems += _arg_problems(where, rule, event)
        problems += _command_problems(where, rule, types.get(rule.emit))
    return problems
