"""Every worker ``hookline worker NAME`` can run: one line each in :data:`WORKERS`.

A worker is a factory that receives the settings and returns a
:class:`WorkerSpec`: the service name (which names its retry and DLQ topics),
the topics it consumes and its handlers. Use :func:`lazy` to point at a
factory by import path, so this module does not import every provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.errors import ConfigError
from hookline.lazy import lazy as load_lazily
from hookline.worker.handlers import HandlerContext, HandlerRegistry


@dataclass
class WorkerSpec:
    # "sms", "colt", "reservation", "reactor": topics hookline.retry.<service>.<tier>,
    # hookline.dlq.<service>, and the consumer group <prefix>.worker.<service>.
    service: str
    topics: list[str]
    handlers: HandlerRegistry
    close: Callable[[], Awaitable[None]] | None = None
    # Overrides the consumer group id (default "<prefix>.worker.<service>").
    group_id: str | None = None
    # Called once when a record's retries are exhausted, just before it is dead-lettered,
    # so a service can publish the command's terminal failure result (permanent errors
    # are the handler's own to report: it sees them first).
    on_exhausted: ExhaustedHook | None = None
    # Long-running jobs of the service (the SMS health checks), started with the
    # worker and cancelled when it stops, before ``close``.
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)


WorkerFactory = Callable[[HooklineSettings], Awaitable[WorkerSpec]]
ExhaustedHook = Callable[[CloudEvent, HandlerContext, BaseException], Awaitable[None]]


def lazy(path: str) -> WorkerFactory:
    """A factory given as ``"package.module:function"``, imported only when the worker starts."""
    return cast(WorkerFactory, load_lazily(path))


WORKERS: dict[str, WorkerFactory] = {
    "colt": lazy("hookline.services.colt.worker:create_worker"),
    "sms": lazy("hookline.services.sms.worker:create_worker"),
    "reservation": lazy("hookline.services.reservation.worker:create_worker"),
    "reactor": lazy("hookline.reactor.worker:create_worker"),
    "reconcile": lazy("hookline.services.reconcile.worker:create_worker"),
}


def get(name: str) -> WorkerFactory:
    """A registered worker, or ``package.module:function`` for one of your own."""
    if ":" in name:
        return lazy(name)
    try:
        return WORKERS[name]
    except KeyError:
        known = ", ".join(sorted(WORKERS)) or "none registered"
        raise ConfigError(f"unknown worker {name!r} (known: {known})") from None
