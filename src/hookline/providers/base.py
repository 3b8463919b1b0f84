"""What a provider folder offers: its spec (adapter, samples, client, simulator), one registry line.

An adapter turns one verified webhook into CloudEvents. It imports neither
Kafka nor HTTP clients; the ingress owns the I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, TypeAdapter
from pydantic_core import from_json
from starlette.types import ASGIApp

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.envelope import CloudEvent
from hookline.errors import NormalizationError
from hookline.messages import MessageType
from hookline.signatures.base import Headers

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)


class UnparseableBody(ValueError):
    """The body is not in the content type it claims (answered 400)."""


# Built once per request: not frozen, because a frozen dataclass's __init__
# (object.__setattr__ per field) costs three times as much. Adapters read it only.
@dataclass(slots=True)
class RawWebhook:
    """A verified webhook as it arrived, with its body parsed by content type."""

    source: str
    provider: str
    body: bytes
    content_type: str
    headers: Headers
    query: dict[str, str]
    received_at: datetime
    payload: Any = None
    traceparent: str | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """A provider-specific answer body (e.g. Mitake's ``magicid=sms_gateway_rpack``)."""

    body: bytes
    media_type: str = "text/plain"
    status: int | None = None


@dataclass(frozen=True)
class Sample:
    name: str
    body: bytes
    content_type: str = "application/json"
    description: str = ""


class Adapter(Protocol):
    """Normalizes one provider's webhooks."""

    provider: str
    domain: str | None  # events topic domain; None → a topic named after the source
    content_types: tuple[str, ...]

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]: ...

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None: ...


SimulatorFactory = Callable[[HooklineSettings, SimulatorSettings], ASGIApp]


@dataclass(frozen=True)
class ProviderSpec:
    """One registry line: everything hookline knows about a provider.

    Every registry reads this: the ingress (``adapter``), ``hookline send``
    (``samples``), the services (``family`` and ``client``), the sandbox
    (``simulator``, ``simulator_port``, ``callback_source``) and the message
    catalog's cross-check (``message_types``). A provider folder's
    ``__init__.py`` defines its ``SPEC``; :mod:`hookline.providers.registry`
    lists it once.
    """

    name: str
    adapter: Adapter
    samples: Callable[[], tuple[Sample, ...]] = tuple
    # Hooks for ``hookline send``, e.g. ``delivery`` (a provider's own delivery
    # headers, such as GitHub's event name, for a sample).
    extras: dict[str, Callable[..., Any]] = field(default_factory=dict)
    # Which service uses ``client``: "sms", "reservation", "colt" (None: webhooks only).
    family: str | None = None
    # ``client(settings)`` builds what the family's service talks to (an
    # SmsProvider, a reservation Platform, a ColtClient); given with
    # :func:`hookline.lazy.lazy` so listing providers imports no HTTP client code.
    client: Callable[[HooklineSettings], Any] | None = None
    # The sandbox simulator's app factory and the port it listens on by default.
    simulator: SimulatorFactory | None = None
    simulator_port: int | None = None
    # The ingress source that receives this provider's callbacks by default.
    callback_source: str | None = None
    # The CloudEvent types this provider's adapter and client produce or serve.
    message_types: tuple[MessageType, ...] = ()
    # ``await reconcile(client, entity)``: the provider's status API read as the webhook
    # it would have sent (providers/reconcile.py); None: no status API (docs/reconcile.md).
    reconcile: Callable[..., Any] | None = None


def with_defaults(settings: ModelT, defaults: Mapping[str, Any]) -> ModelT:
    """``settings`` with a provider's documented client defaults where the configuration is silent.

    A field the configuration sets keeps its value; a section (``retry``,
    ``breaker``, ``limits``, …) is filled field by field, so ``breaker:
    {failure_threshold: 3}`` keeps the provider's documented recovery time.
    Dict-valued fields (``cache``, ``status_delays_ms``) are taken whole: set
    ``cache: {}`` to turn the default cache off.
    """
    update: dict[str, Any] = {}
    for key, default in defaults.items():
        current = getattr(settings, key, None)
        if isinstance(current, BaseModel) and isinstance(default, Mapping):
            update[key] = with_defaults(current, default)
        elif key not in settings.model_fields_set:
            field_type: Any = type(settings).model_fields[key].annotation
            update[key] = TypeAdapter(field_type).validate_python(default)
    return settings.model_copy(update=update) if update else settings


def webhook_methods(adapter: Adapter) -> tuple[str, ...]:
    """The HTTP methods a provider delivers with: POST, unless its adapter says
    otherwise (``methods = ("POST", "GET")``: Mitake calls its report URL with GET)."""
    methods: tuple[str, ...] = getattr(adapter, "methods", ("POST",))
    return methods


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def accepts(content_types: tuple[str, ...], content_type: str) -> bool:
    mt = media_type(content_type)
    if mt in content_types:
        return True
    return (
        "application/json" in content_types
        and mt.startswith("application/")
        and mt.endswith("+json")
    )


def parse_body(body: bytes, content_type: str) -> Any:
    """Parse JSON or form bodies; raise :class:`UnparseableBody` with a clear reason."""
    mt = media_type(content_type)
    if mt in FORM_TYPES:
        try:
            return dict(
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise UnparseableBody(f"form body is malformed: {exc}") from exc
    if mt in JSON_TYPES or (mt.startswith("application/") and mt.endswith("+json")):
        try:
            # pydantic-core's parser is ~5x faster than json.loads on a 1 KiB body
            # and gives the same values (big integers stay ints, NaN is accepted).
            return from_json(body)
        except ValueError:
            pass
        # What it refuses and json.loads takes (a UTF-8 BOM, a lone surrogate
        # escape) is still accepted; json's message names the problem otherwise.
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UnparseableBody(f"body is not valid JSON: {exc}") from exc
    return body.decode("utf-8", errors="replace")


def require_mapping(payload: Any, what: str = "payload") -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise NormalizationError(f"{what} must be a JSON object")
    return payload
