"""A/B testing of message templates: pick a variant by the message id, render its body.

A template has named variants, each with a body and a weight. The variant is a
function of the message id alone (SHA-256 of ``template:message_id`` against the
cumulative weights, variants in name order), so a redelivered command, another
replica or a restarted worker picks the same one, and the split over many
messages follows the weights. Changing the weights moves only the messages
whose hash falls in the changed range.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hookline.messages.templates import MissingValue, Template, TemplateError

MAX_BODY = 1600


class Variant(BaseModel):
    """One wording of a template and its share of the messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: str = Field(min_length=1, max_length=MAX_BODY)
    weight: int = Field(default=1, ge=0)

    @field_validator("body")
    @classmethod
    def _compiles(cls, body: str) -> str:
        try:
            Template.compile(body)
        except TemplateError as exc:
            raise ValueError(str(exc)) from exc
        return body


class MessageTemplate(BaseModel):
    """``services.sms.templates.<name>``: its variants (one variant is a plain template)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variants: dict[str, Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _some_weight(self) -> MessageTemplate:
        if sum(v.weight for v in self.variants.values()) <= 0:
            raise ValueError("at least one variant needs a weight above 0")
        return self


class TemplateProblem(ValueError):
    """The command cannot be rendered (unknown template, missing variable, too long)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Rendered:
    template: str
    variant: str
    body: str


def choose(name: str, template: MessageTemplate, message_id: str) -> str:
    """The variant for ``message_id``: stable, and spread over the variants by weight."""
    digest = hashlib.sha256(f"{name}:{message_id}".encode()).digest()
    total = sum(v.weight for v in template.variants.values())
    point = int.from_bytes(digest[:8], "big") % total
    for variant in sorted(template.variants):
        point -= template.variants[variant].weight
        if point < 0:
            return variant
    raise AssertionError("unreachable: the weights add up to total")  # pragma: no cover


def render(
    templates: Mapping[str, MessageTemplate],
    name: str,
    variables: Mapping[str, Any],
    message_id: str,
) -> Rendered:
    """The chosen variant's body with ``variables`` filled in; raises :class:`TemplateProblem`."""
    template = templates.get(name)
    if template is None:
        raise TemplateProblem("unknown_template", f"no template {name!r} in services.sms.templates")
    variant = choose(name, template, message_id)
    try:
        body = Template.compile(template.variants[variant].body).render(dict(variables))
    except MissingValue as exc:
        raise TemplateProblem(
            "missing_variable", f"template {name!r} variant {variant!r} needs variable {exc.path!r}"
        ) from exc
    body = str(body)
    if not body.strip() or len(body) > MAX_BODY:
        raise TemplateProblem(
            "invalid_body", f"template {name!r} variant {variant!r} renders {len(body)} characters"
        )
    return Rendered(name, variant, body)
