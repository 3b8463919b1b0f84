"""Worker ``reservation``: one handler per command on ``commands.reservation`` (docs/providers/reservations.md#commands-and-results).

Each command names its platform in ``data.provider``. Every command ends in
exactly one terminal result carrying ``command_id``: ``reservation.command.*``
on ``events.reservation``, ``charging.command.*`` on ``events.charging``. A
permanent failure (invalid command, a P-class provider code such as
``NO_AVAILABILITY``) emits the ``*.command.failed`` result and then raises
:class:`PermanentError`, so the record goes to ``dlq.reservation`` with the
provider's code. Retryable failures (5xx, 429, ``CONNECTOR_UNAVAILABLE``) are
raised as they are: the runtime retries in place, then on the retry tiers.

Creation and charging start are effect-once: the runtime's idempotency store
guards the command id, and the same id is the provider call's ``Idempotency-Key``,
which covers a crash between the provider's effect and the store's ``done`` mark.
The lifecycle facts themselves (``reservation.booking.*``, ``charging.session.*``)
come only from the providers' webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_args

import structlog
from pydantic import BaseModel, ValidationError

from hookline.envelope import CloudEvent, event_id, make_event
from hookline.errors import PermanentError
from hookline.messages.reservation import (
    AvailabilityCheck,
    CommandError,
    CommandResult,
    EmergencyStop,
    PermitLotteryEnter,
    PermitSearch,
    ReservationCancel,
    ReservationCreate,
    ReservationModify,
    ReservationProvider,
    ReservationSearch,
    SessionStart,
    SessionStatusGet,
    SessionStop,
    StationSearch,
)
from hookline.providers._reservation.platform import (
    ChargingPlatform,
    Outcome,
    PermitPlatform,
    Platform,
    SearchPlatform,
)
from hookline.worker.commands import CommandHandlers, Failure
from hookline.worker.handlers import Handler, HandlerContext

log = structlog.get_logger("hookline.services.reservation")

SERVICE = "reservation"
SOURCE = f"/hookline/workers/{SERVICE}"
M = TypeVar("M", bound=BaseModel)
# The platforms the message contract names (its schema enum).
PROVIDERS: tuple[str, ...] = get_args(ReservationProvider)


def _default_provider(command_type: str) -> str | None:
    """The one platform a command type can mean when it names none (its model's default)."""
    if command_type.startswith("charging."):
        return "shell_recharge"
    if command_type.startswith("reservation.permit."):
        return "recreation_gov"
    return None


def _domain(command_type: str) -> str:
    return "charging" if command_type.startswith("charging.") else "reservation"


def result_event(command: CloudEvent, type_: str, data: CommandResult, subject: str) -> CloudEvent:
    """A redelivered command yields the same result id: ``event_id(source, "{command_id}:{type}")``."""
    return make_event(
        id=event_id(SOURCE, f"{command.id}:{type_}"),
        source=SOURCE,
        type=type_,
        subject=subject,
        data=data.model_dump(mode="json", exclude_none=True),
        provider=data.provider,
        traceparent=command.traceparent,
    )


class ReservationHandlers(CommandHandlers):
    """The handlers of worker ``reservation``, over the configured platforms."""

    def __init__(self, platforms: Mapping[str, Platform]) -> None:
        self.platforms = dict(platforms)

    def handlers(self) -> dict[str, Handler]:
        return {
            "reservation.create": self.create,
            "reservation.modify": self.modify,
            "reservation.cancel": self.cancel,
            "charging.session.start": self.start,
            "charging.session.stop": self.stop,
            "reservation.search": self.search,
            "reservation.availability.check": self.availability,
            "reservation.permit.search": self.permit_search,
            "reservation.permit.lottery.enter": self.lottery_enter,
            "charging.station.search": self.station_search,
            "charging.session.status": self.session_status,
            "charging.session.emergency_stop": self.emergency_stop,
        }

    async def report_failure(
        self, event: CloudEvent, ctx: HandlerContext, type_: str, failure: Failure
    ) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        provider = (
            data.get("provider") if data.get("provider") in PROVIDERS else _default_provider(type_)
        )
        entity = data.get("reservation_id") or data.get("session_id")
        result = CommandResult(
            command_id=event.id,
            command_type=type_,
            provider=provider
            or ("shell_recharge" if type_.startswith("charging.") else "opentable"),
            reservation_id=data.get("reservation_id")
            if isinstance(data.get("reservation_id"), str)
            else None,
            session_id=data.get("session_id") if isinstance(data.get("session_id"), str) else None,
            error=CommandError(
                code=failure.code,
                message=failure.message,
                http_status=failure.http_status,
                retryable=failure.retryable,
            ),
            attempts=ctx.attempt,
        )
        domain = _domain(type_)
        subject = entity if isinstance(entity, str) and entity else event.id
        await ctx.emit(
            result_event(event, f"{domain}.command.failed", result, subject),
            ctx.topics.events(domain),
        )
        log.warning(
            "reservation.command_failed",
            command_id=event.id,
            type=type_,
            provider=provider,
            code=result.error.code if result.error else None,
        )

    @staticmethod
    def _parse(event: CloudEvent, model: type[M]) -> M:
        try:
            command = model.model_validate(event.data)
        except ValidationError as exc:
            details = [
                {"field": ".".join(str(p) for p in e["loc"]) or "data", "issue": e["msg"]}
                for e in exc.errors()
            ]
            pairs = ", ".join(f"{d['field']}: {d['issue']}" for d in details[:5])
            raise PermanentError(
                f"invalid {event.type} command ({pairs})",
                code="INVALID_COMMAND",
                details={"fields": details},
            ) from exc
        body = command.root if hasattr(command, "root") else command
        given = getattr(body, "command_id", None)
        if given is not None and given != event.id:
            raise PermanentError(
                f"data.command_id {given!r} differs from the CloudEvent id {event.id!r}",
                code="COMMAND_ID_MISMATCH",
            )
        return command

    def _platform(self, name: str) -> Platform:
        platform = self.platforms.get(name)
        if platform is None:
            configured = ", ".join(sorted(self.platforms)) or "none"
            raise PermanentError(
                f"provider {name!r} is not configured for worker reservation (configured: {configured})",
                code="PROVIDER_NOT_CONFIGURED",
            )
        return platform

    def _charging(self, name: str) -> ChargingPlatform:
        platform = self._platform(name)
        if not isinstance(platform, ChargingPlatform):
            raise PermanentError(
                f"provider {name!r} does not run charging sessions", code="UNSUPPORTED_COMMAND"
            )
        return platform

    def _searching(self, name: str) -> SearchPlatform:
        platform = self._platform(name)
        if not isinstance(platform, SearchPlatform):
            raise PermanentError(
                f"provider {name!r} does not search venues", code="UNSUPPORTED_COMMAND"
            )
        return platform

    def _permits(self, name: str) -> PermitPlatform:
        platform = self._platform(name)
        if not isinstance(platform, PermitPlatform):
            raise PermanentError(
                f"provider {name!r} does not issue permits", code="UNSUPPORTED_COMMAND"
            )
        return platform

    async def _answered(
        self, event: CloudEvent, ctx: HandlerContext, provider: str, result: dict[str, Any]
    ) -> None:
        """A read's result (search, availability, permits): keyed by the command id, no entity."""
        domain = _domain(event.type)
        data = CommandResult.model_validate(
            {
                "command_id": event.id,
                "command_type": event.type,
                "provider": provider,
                "result": result,
            }
        )
        await ctx.emit(
            result_event(event, f"{domain}.command.succeeded", data, event.id),
            ctx.topics.events(domain),
        )
        log.info(
            "reservation.command_succeeded", command_id=event.id, type=event.type, provider=provider
        )

    async def _succeeded(
        self,
        event: CloudEvent,
        ctx: HandlerContext,
        provider: str,
        outcome: Outcome,
        entity: str = "reservation_id",
    ) -> None:
        domain = _domain(event.type)
        result = CommandResult.model_validate(
            {
                "command_id": event.id,
                "command_type": event.type,
                "provider": provider,
                "result": outcome.result,
                entity: outcome.entity_id,
            }
        )
        await ctx.emit(
            result_event(event, f"{domain}.command.succeeded", result, outcome.entity_id),
            ctx.topics.events(domain),
        )
        log.info(
            "reservation.command_succeeded",
            command_id=event.id,
            type=event.type,
            provider=provider,
            entity_id=outcome.entity_id,
        )

    # ---------------------------------------------------------------- commands

    async def create(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, ReservationCreate).root
        outcome = await self._platform(command.provider).create(command, ctx.idempotency_key)
        await self._succeeded(event, ctx, command.provider, outcome)

    async def modify(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, ReservationModify)
        outcome = await self._platform(command.provider).modify(command, ctx.idempotency_key)
        await self._succeeded(event, ctx, command.provider, outcome)

    async def cancel(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, ReservationCancel)
        outcome = await self._platform(command.provider).cancel(command, ctx.idempotency_key)
        await self._succeeded(event, ctx, command.provider, outcome)

    async def start(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, SessionStart)
        outcome = await self._charging(command.provider).start(command, ctx.idempotency_key)
        await self._succeeded(event, ctx, command.provider, outcome, "session_id")

    async def stop(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, SessionStop)
        outcome = await self._charging(command.provider).stop(command, ctx.idempotency_key)
        await self._succeeded(event, ctx, command.provider, outcome, "session_id")

    async def search(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, ReservationSearch)
        result = await self._searching(command.provider).search(command)
        await self._answered(event, ctx, command.provider, result)

    async def availability(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, AvailabilityCheck)
        result = await self._searching(command.provider).availability(command)
        await self._answered(event, ctx, command.provider, result)

    async def permit_search(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, PermitSearch)
        result = await self._permits(command.provider).permits(command)
        await self._answered(event, ctx, command.provider, result)

    async def lottery_enter(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, PermitLotteryEnter)
        platform = self._permits(command.provider)
        outcome = await platform.enter_lottery(command, ctx.idempotency_key)
        domain = _domain(event.type)
        data = CommandResult(
            command_id=event.id,
            command_type=event.type,
            provider=command.provider,
            result=outcome.result,
        )
        await ctx.emit(
            result_event(event, f"{domain}.command.succeeded", data, outcome.entity_id),
            ctx.topics.events(domain),
        )

    async def station_search(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, StationSearch)
        result = await self._charging(command.provider).stations(command)
        await self._answered(event, ctx, command.provider, result)

    async def session_status(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, SessionStatusGet)
        outcome = await self._charging(command.provider).status(command)
        await self._succeeded(event, ctx, command.provider, outcome, "session_id")

    async def emergency_stop(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, EmergencyStop)
        outcome = await self._charging(command.provider).emergency_stop(
            command, ctx.idempotency_key
        )
        log.warning("reservation.emergency_stop", session_id=command.session_id, code=command.code)
        await self._succeeded(event, ctx, command.provider, outcome, "session_id")


__all__ = ["SERVICE", "SOURCE", "ReservationHandlers", "result_event"]
