"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` environment variables alone.

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``;
``none`` or unset: off) and ``OTEL_SDK_DISABLED`` is not true. Then a
:class:`~opentelemetry.sdk.trace.TracerProvider` is installed whose resource
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``), sampler
(``OTEL_TRACES_SAMPLER``, ``…_ARG``), batch processor (``OTEL_BSP_*``) and
OTLP exporter (``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``, ``…_HEADERS``,
``…_PROTOCOL``, ``…_TIMEOUT``) each read their own variables, as every
OpenTelemetry SDK does.

Why the environment and not the settings file: the OTEL_* variables are the
contract every operator of an OpenTelemetry pipeline already uses, and the
collector address usually comes from the platform (a sidecar, a node agent).

When tracing is off, :data:`ENABLED` is False and the hot paths skip every
OpenTelemetry call (a no-op span still costs about a microsecond).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import DefaultGetter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hookline.errors import ConfigError

__all__ = [
    "ENABLED",
    "add_trace_ids",
    "configure_tracing",
    "context_from_traceparent",
    "current_traceparent",
    "inject",
    "mark_error",
    "span",
    "start_span",
    "trace_ids",
]

log = structlog.get_logger("hookline.tracing")

ENABLED = False
_PROPAGATOR = TraceContextTextMapPropagator()
_TRUE = {"true", "1", "yes", "on"}
_PROTOCOLS = {"http/protobuf", "http/json", "grpc"}


def _exporters(names: list[str], environ: Mapping[str, str]) -> list[Any]:
    exporters: list[Any] = []
    for name in names:
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            protocol = (
                environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf"
            )
            if protocol not in _PROTOCOLS:
                raise ConfigError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r} is not one of {sorted(_PROTOCOLS)}"
                )
            if protocol != "http/protobuf":
                # The gRPC exporter pulls in grpcio (~10 MB); http/protobuf is what every
                # collector also listens on (port 4318).
                raise ConfigError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not shipped with hookline; "
                    "use http/protobuf (the collector's port 4318)"
                )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        else:
            raise ConfigError(
                f"OTEL_TRACES_EXPORTER {name!r} is not supported (otlp, console, none)"
            )
    return exporters


def configure_tracing(default_service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install the tracer provider the OTEL_* variables describe; False when tracing stays off.

    ``default_service`` names the process (``hookline-ingress``, ``hookline-worker``…)
    when ``OTEL_SERVICE_NAME`` does not.
    """
    global ENABLED
    # The OTEL_* variables are OpenTelemetry's own configuration contract (see the docstring).
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return False
    names = [
        n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "none").split(",") if n.strip()
    ]
    names = [n for n in names if n != "none"]
    if not names:
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters = _exporters(names, env)
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: default_service}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # Spans still in the batch are sent when the process ends normally.
    atexit.register(provider.shutdown)
    ENABLED = True
    log.info(
        "tracing.enabled", exporters=names, service=env.get("OTEL_SERVICE_NAME") or default_service
    )
    return True


def _tracer() -> trace.Tracer:
    return trace.get_tracer("hookline")


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """The remote parent a ``traceparent`` names, as an OpenTelemetry context (None: none)."""
    if not traceparent:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent}, getter=DefaultGetter())


def start_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    traceparent: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """A span, child of the current one, or of ``traceparent`` when given; not made current."""
    parent = context_from_traceparent(traceparent)
    return _tracer().start_span(name, context=parent, kind=kind, attributes=dict(attributes or {}))


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    traceparent: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A current span around a block (None when tracing is off); exceptions mark it as an error."""
    if not ENABLED:
        yield None
        return
    parent = context_from_traceparent(traceparent)
    with _tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {}), record_exception=True
    ) as current:
        yield current


def mark_error(current: Span | None, exc: BaseException) -> None:
    if current is not None:
        current.record_exception(exc)
        current.set_status(Status(StatusCode.ERROR, str(exc)[:200]))


def current_traceparent(default: str | None = None) -> str | None:
    """The W3C ``traceparent`` of the current span, or ``default`` when there is none."""
    if not ENABLED:
        return default
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", default)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's ``traceparent`` (and ``tracestate``) to outgoing headers."""
    if ENABLED:
        _PROPAGATOR.inject(headers)


def trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the current span in hex, for log lines; None outside spans."""
    if not ENABLED:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every log line inside a span carries ``trace_id`` and ``span_id``."""
    ids = trace_ids()
    if ids is not None:
        event.setdefault("trace_id", ids[0])
        event.setdefault("span_id", ids[1])
    return event
