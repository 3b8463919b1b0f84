"""Command handlers that always answer: each command ends in exactly one result event.

A service's command handlers subclass :class:`CommandHandlers`: they list
their handlers and say how a failure is reported (:meth:`report_failure`, a
``*.command.failed`` event of the service's own shape). The base class makes
sure the report is written on both terminal paths: a permanent error (the
handler's own, reported before the record goes to the dead-letter topic) and
retries that ran out (the runtime's ``on_exhausted`` hook).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from hookline.envelope import CloudEvent
from hookline.errors import PermanentError
from hookline.worker.handlers import Handler, HandlerContext, HandlerRegistry

__all__ = ["CommandHandlers", "Failure"]


@dataclass(frozen=True)
class Failure:
    """What a result event says about an error: code, message, HTTP status, details, retryable."""

    code: str
    message: str
    http_status: int | None
    details: Any
    retryable: bool

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        raw_details = getattr(exc, "details", None)
        details = raw_details if isinstance(raw_details, (dict, list)) else None
        status = getattr(exc, "status", None)
        if status is None and isinstance(details, dict):
            status = details.get("http_status")
        return cls(
            code=getattr(exc, "code", None) or type(exc).__name__,
            message=str(exc),
            http_status=status if isinstance(status, int) else None,
            details=details,
            retryable=not isinstance(exc, PermanentError),
        )


class CommandHandlers(ABC):
    """Handlers of one service's commands; :meth:`registry` and :meth:`exhausted` go to the WorkerSpec."""

    @abstractmethod
    def handlers(self) -> dict[str, Handler]:
        """CloudEvent type → handler."""

    @abstractmethod
    async def report_failure(
        self, event: CloudEvent, ctx: HandlerContext, type_: str, failure: Failure
    ) -> None:
        """Publish the command's terminal failure result."""

    def registry(self) -> HandlerRegistry:
        return HandlerRegistry({k: self._guarded(k, h) for k, h in self.handlers().items()})

    def _guarded(self, type_: str, handler: Handler) -> Handler:
        async def run(event: CloudEvent, ctx: HandlerContext) -> None:
            try:
                await handler(event, ctx)
            except PermanentError as exc:
                await self.report_failure(event, ctx, type_, Failure.of(exc))
                raise

        return run

    async def exhausted(self, event: CloudEvent, ctx: HandlerContext, exc: BaseException) -> None:
        """Retries ran out: the command still ends in exactly one result, a retryable failure."""
        await self.report_failure(event, ctx, event.type, Failure.of(exc))
