"""Rule templates; the engine lives in :mod:`hookline.messages.templates`, shared with the SMS service."""

from __future__ import annotations

from hookline.messages.templates import (
    Expression,
    MissingValue,
    Template,
    TemplateError,
    parse_expression,
)

__all__ = ["Expression", "MissingValue", "Template", "TemplateError", "parse_expression"]
