"""``{{ path | default("x") | round(n) }}`` templates: field references and two filters, no eval.

Shared by the reactor (rule actions rendered from an event) and the SMS service
(message templates rendered from a command's variables), so it lives below both.
Dotted paths (``data.customer.phone``, ``data.items.0``) are read without any
evaluation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MISSING: Any = object()


def lookup(document: Any, path: str) -> Any:
    """The value at ``path`` or :data:`MISSING`; list items by index (``data.items.0``)."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_FILTER = re.compile(r"^(default|round)\((.*)\)$")


class TemplateError(ValueError):
    """A template is malformed (found by config check, never at run time)."""


class MissingValue(LookupError):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class Expression:
    path: str
    filters: tuple[tuple[str, Any], ...]

    def evaluate(self, document: Any) -> Any:
        value = lookup(document, self.path)
        for name, argument in self.filters:
            if name == "default":
                if value is MISSING or value is None:
                    value = argument
            elif name == "round" and value is not MISSING and value is not None:
                try:
                    value = round(float(value), int(argument))
                    value = f"{value:.{int(argument)}f}"
                except (TypeError, ValueError):
                    pass
        if value is MISSING or value is None:
            raise MissingValue(self.path)
        return value


def parse_expression(text: str) -> Expression:
    path, *filters = (part.strip() for part in text.split("|"))
    if not _PATH.match(path):
        raise TemplateError(f"{{{{ {text} }}}}: {path!r} is not a dotted field path")
    parsed = []
    for item in filters:
        match = _FILTER.match(item)
        if match is None:
            raise TemplateError(f"{{{{ {text} }}}}: unknown filter {item!r} (default(x), round(n))")
        name, raw = match.groups()
        try:
            argument = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            raise TemplateError(
                f"{{{{ {text} }}}}: argument of {name} must be a JSON literal"
            ) from exc
        if name == "round" and not isinstance(argument, int):
            raise TemplateError(f"{{{{ {text} }}}}: round needs an integer")
        parsed.append((name, argument))
    return Expression(path, tuple(parsed))


@dataclass(frozen=True)
class Template:
    """A string with ``{{ … }}`` parts; a template that is exactly one part keeps the value's type."""

    source: str
    parts: tuple[str | Expression, ...]

    @classmethod
    def compile(cls, source: str) -> Template:
        parts: list[str | Expression] = []
        position = 0
        for match in _EXPR.finditer(source):
            if match.start() > position:
                parts.append(source[position : match.start()])
            parts.append(parse_expression(match.group(1)))
            position = match.end()
        if position < len(source):
            parts.append(source[position:])
        if "{{" in "".join(p for p in parts if isinstance(p, str)):
            raise TemplateError(f"{source!r}: unclosed {{{{")
        return cls(source, tuple(parts))

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.parts if isinstance(p, Expression)]

    def render(self, document: Any) -> Any:
        if len(self.parts) == 1 and isinstance(self.parts[0], Expression):
            return self.parts[0].evaluate(document)
        return "".join(p if isinstance(p, str) else str(p.evaluate(document)) for p in self.parts)
