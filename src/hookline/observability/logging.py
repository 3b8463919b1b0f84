"""structlog as JSON lines, with ids bound through contextvars and masking last."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from hookline.observability.context import add_request_id
from hookline.observability.masking import masking_processor
from hookline.observability.tracing import add_trace_ids

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured.

    Binding the object at configure time breaks when it is later replaced and
    closed (pytest's capture does exactly that between tests).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(level: str = "info", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Configure structlog (and stdlib logging, so uvicorn and aiokafka go the same way)."""
    out: Any = stream or _CurrentStderr()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        masking_processor,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(_LEVELS[level], logging.INFO))
    # httpx logs every request URL, query credentials included; hookline.http logs each call itself.
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class HotLogger:
    """A module logger for per-request lines, assembled once per structlog configuration.

    ``structlog.get_logger`` returns a lazy proxy that assembles a fresh bound
    logger on every call (``cache_logger_on_first_use`` stays off because tests
    reconfigure logging), even for a line the level filters out. This keeps the
    assembled logger and rebuilds it only when the configuration changes.
    """

    __slots__ = ("_bound", "_config", "_info", "_proxy")

    def __init__(self, name: str) -> None:
        self._proxy: Any = structlog.get_logger(name)
        self._config: tuple[Any, ...] = ()
        self._bound: Any = None
        self._info = True

    def get(self) -> Any:
        config = structlog.get_config()
        cached = self._config
        # Held references, compared by identity: a replaced configuration never matches.
        if (
            not cached
            or cached[0] is not config["processors"]
            or cached[1] is not config["context_class"]
            or cached[2] is not config["wrapper_class"]
            or cached[3] is not config["logger_factory"]
        ):
            self._bound = self._proxy.bind()
            enabled = getattr(self._bound, "is_enabled_for", None)
            self._info = True if enabled is None else bool(enabled(logging.INFO))
            self._config = (
                config["processors"],
                config["context_class"],
                config["wrapper_class"],
                config["logger_factory"],
            )
        return self._bound

    def for_info(self) -> Any | None:
        """The logger when INFO lines are written, else None: a filtered line's fields
        need not be built at all (the per-request line, at ``log_level: warning``)."""
        bound = self.get()
        return bound if self._info else None
