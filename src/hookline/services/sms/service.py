"""Deliver one logical message through the best available provider, failing over (docs/sms.md#failover-rules-in-plain-words).

``send`` handles an ``sms.send`` command; ``report_undelivered`` handles a
failed delivery report the ingress published. Both end in ``_deliver``, which
walks the route: record the attempt, call the provider, and on an error either
move to the next provider (emitting ``sms.message.failed_over`` first) or stop
(``sms.message.failed``, then :class:`PermanentError` so the runtime
dead-letters the record with the attempts in its details).

Effects once: an attempt is recorded *before* its call, under a deterministic
attempt key (``uuid5(message_id:provider)``) sent as ``Idempotency-Key`` (and
Mitake ``clientid``). A command redelivered after a crash finds the attempt in
flight and resends it under the same key, which the provider answers with the
first result instead of a second SMS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, NoReturn, Protocol

import structlog
from pydantic import BaseModel, ValidationError

from hookline.bus.topics import Topics
from hookline.envelope import CloudEvent, event_id, make_event
from hookline.errors import HooklineError, PermanentError, RetryableError
from hookline.messages.phone import InvalidPhoneNumber, validate_e164
from hookline.messages.sms import (
    ProviderName,
    SmsAccepted,
    SmsDelivered,
    SmsFailed,
    SmsFailedOver,
    SmsSend,
    SmsUndelivered,
)
from hookline.providers._sms.contract import OutboundSms, SmsProvider
from hookline.providers._sms.segments import segment
from hookline.providers._sms.sending import ResendLater
from hookline.services.sms import metrics
from hookline.services.sms.config import SmsSettings
from hookline.services.sms.failures import Failure, classify, from_report
from hookline.services.sms.health import HealthChecks
from hookline.services.sms.routing import ProviderHealth, Route, order
from hookline.services.sms.state import Attempt, MessageState, MessageStore
from hookline.services.sms.success import SuccessTracker
from hookline.services.sms.templates import Rendered, TemplateProblem, render

log = structlog.get_logger("hookline.sms")

SOURCE = "/hookline/workers/sms"


class Emitter(Protocol):
    """The part of the worker's handler context the service uses."""

    topics: Topics

    async def emit(self, event: CloudEvent, topic: str) -> None: ...


def attempt_key(message_id: str, provider: str) -> str:
    """Deterministic per (message, provider): a resend of one attempt is recognisable."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message_id}:{provider}"))


class MessageFailed(PermanentError):
    """Terminal: the message was not sent; ``details`` holds every attempt."""


class SmsService:
    def __init__(
        self,
        settings: SmsSettings,
        providers: Mapping[str, SmsProvider],
        store: MessageStore,
        tracker: SuccessTracker,
        health: HealthChecks | None = None,
    ) -> None:
        self.settings = settings
        self.providers = dict(providers)
        self.store = store
        self.tracker = tracker
        self.health = health or HealthChecks(self.providers, settings.health_interval_seconds)
        for name, cost in settings.cost_per_segment.items():
            metrics.COST_PER_SEGMENT.labels(name, settings.currency).set(cost)

    # -- commands -------------------------------------------------------------------------

    async def send(self, command: CloudEvent, ctx: Emitter) -> None:
        message_id = command.id
        try:
            args = SmsSend.model_validate(command.data or {})
        except ValidationError as exc:
            raise PermanentError(
                "sms.send arguments are invalid", code="invalid_command", details=_errors(exc)
            ) from exc
        state = await self.store.get(message_id)
        if state is None:
            rendered = self._render(args, message_id)
            state = MessageState(
                message_id=message_id,
                to=args.to,
                body=rendered.body if rendered else args.body or "",
                sender=args.sender,
                preferred=args.provider,
                reference=args.reference,
                template=rendered.template if rendered else None,
                variant=rendered.variant if rendered else None,
            )
            try:
                validate_e164(args.to)
            except InvalidPhoneNumber as exc:
                # Nothing is sent; the record goes to the DLQ at once with the reason.
                await self._fail(state, ctx, _invalid(exc), command)
        log.info("sms.send_received", message_id=message_id, to=args.to, status=state.status)
        if state.status == "failed":
            await self._fail(state, ctx, _last_failure(state), command, replay=True)
        if state.status in ("accepted", "delivered"):
            current = state.current
            assert current is not None
            await self._emit_accepted(state, current, ctx, command, replay=True)
            return
        await self._deliver(state, ctx, command)

    def _render(self, args: SmsSend, message_id: str) -> Rendered | None:
        if args.template is None:
            return None
        try:
            return render(self.settings.templates, args.template, args.variables, message_id)
        except TemplateProblem as exc:
            raise PermanentError(
                f"sms.send template cannot be rendered: {exc}",
                code="invalid_command",
                details={"template": args.template, "problem": exc.code},
            ) from exc

    async def report_undelivered(self, report: CloudEvent, ctx: Emitter) -> None:
        data = SmsUndelivered.model_validate(report.data)
        metrics.MESSAGES.labels(data.provider, "undelivered").inc()
        state = await self.store.get(data.message_id)
        attempt = state.attempt_for(data.provider) if state else None
        if state is None or attempt is None:
            log.warning("sms.report_unmatched", message_id=data.message_id, provider=data.provider)
            return
        if attempt.status == "sending":
            # The report overtook the recording of the send that produced it.
            raise RetryableError(
                "the send behind this report is still being recorded", retry_after=0.2
            )
        if state.status in ("failed", "delivered") or attempt is not state.current:
            log.info("sms.report_stale", message_id=data.message_id, provider=data.provider)
            return
        failure = from_report(data.error_class, data.error_code, data.failover_eligible)
        if failure.provider_fault:
            self.tracker.record(data.provider, ok=False)
        attempt.status = "failed"
        attempt.error_code, attempt.error_class = failure.error_code, failure.error_class
        if not failure.failover:
            state.status = "failed"
            state = await self.store.put(state)
            _count_variant(state, "undelivered")
            await self._fail(state, ctx, failure, report)
        state = await self.store.put(state)
        # After the write: a report retried on a conflict is counted once.
        _count_variant(state, "undelivered")
        await self._deliver(state, ctx, report, previous=failure)

    async def report_delivered(self, report: CloudEvent, ctx: Emitter) -> None:
        data = SmsDelivered.model_validate(report.data)
        metrics.MESSAGES.labels(data.provider, "delivered").inc()
        state = await self.store.get(data.message_id)
        attempt = state.attempt_for(data.provider) if state else None
        if state is None or attempt is None or state.status == "delivered":
            return
        attempt.status = "delivered"
        state.status = "delivered"
        await self.store.put(state)
        # After the write: a conflict retries the report, which must not count twice.
        _count_variant(state, "delivered")

    # -- the route ------------------------------------------------------------------------

    def _health(self, name: str) -> ProviderHealth:
        return ProviderHealth(
            breaker_open=self.providers[name].breaker_open(),
            healthy=self.tracker.healthy(name) and self.health.passed(name),
        )

    async def _route(self, state: MessageState) -> Route:
        route = order(
            state.to,
            priority=self.settings.priority,
            taiwan_only=self.settings.taiwan_only,
            configured=self.providers.keys(),
            preferred=state.preferred,
            tried=state.tried,
            health=self._health,
        )
        # Rule 2: a provider whose limiter cannot admit within the wait is skipped for now.
        admitted = []
        blocked = list(route.blocked)
        for name in route.providers:
            if await self.providers[name].admits(self.settings.admit_within_seconds):
                admitted.append(name)
            else:
                blocked.append(name)
        return Route(admitted, blocked)

    async def _deliver(
        self,
        state: MessageState,
        ctx: Emitter,
        cause: CloudEvent,
        previous: Failure | None = None,
    ) -> None:
        last = state.current
        if previous is None and last is not None and last.status == "failed":
            # A redelivered command whose last attempt failed before the switch was made.
            previous = Failure(
                last.error_class or "transient",
                last.error_code,
                "previous attempt failed",
                failover=True,
                provider_fault=False,
            )
        while True:
            current = state.current
            if current is not None and current.status == "sending":
                attempt = current  # resume an attempt a crash interrupted, same key
            else:
                route = await self._route(state)
                if not route.providers:
                    if route.blocked:
                        raise RetryableError(
                            "every remaining provider is unavailable for now",
                            retry_after=10.0,
                            code="providers_blocked",
                            details={"blocked": route.blocked},
                        )
                    await self._fail(state, ctx, _exhausted(state, previous), cause)
                name: ProviderName = route.providers[0]  # type: ignore[assignment]
                if current is not None and previous is not None:
                    await self._emit_failed_over(state, current, name, previous, ctx, cause)
                attempt = Attempt(
                    number=len(state.attempts) + 1,
                    provider=name,
                    attempt_key=attempt_key(state.message_id, name),
                )
                state.attempts.append(attempt)
                state.status = "sending"
                state = await self.store.put(state)
                attempt = state.attempts[-1]
            failure = await self._attempt(state, attempt)
            state = await self.store.put(state)
            if failure is None:
                await self._emit_accepted(state, state.attempts[-1], ctx, cause)
                return
            if not failure.failover:
                state.status = "failed"
                state = await self.store.put(state)
                await self._fail(state, ctx, failure, cause)
            previous = failure

    async def _attempt(self, state: MessageState, attempt: Attempt) -> Failure | None:
        """One provider call; updates ``attempt`` in place and says what went wrong, if anything."""
        client = self.providers[attempt.provider]
        sms = OutboundSms(
            message_id=state.message_id,
            attempt_key=attempt.attempt_key,
            to=state.to,
            body=state.body,
            sender=state.sender,
        )
        started = time.perf_counter()
        try:
            receipt = await client.send(sms)
        except ResendLater:
            raise  # the attempt stays in flight; the retry tier resends it under the same key
        except HooklineError as exc:
            failure = classify(exc)
            attempt.status = "unknown" if failure.error_class == "unknown_outcome" else "failed"
            attempt.error_code, attempt.error_class = failure.error_code, failure.error_class
            if failure.provider_fault:
                self.tracker.record(attempt.provider, ok=False)
            log.warning(
                "sms.attempt_failed",
                message_id=state.message_id,
                provider=attempt.provider,
                attempt=attempt.number,
                error_class=failure.error_class,
                error_code=failure.error_code,
                failover=failure.failover,
                error=str(exc),
            )
            return failure
        finally:
            metrics.SEND_LATENCY.labels(attempt.provider).observe(time.perf_counter() - started)
        self.tracker.record(attempt.provider, ok=True)
        attempt.status = "accepted"
        attempt.provider_message_id = receipt.provider_message_id
        attempt.provider_status = receipt.provider_status
        state.status = "accepted"
        log.info(
            "sms.attempt_accepted",
            message_id=state.message_id,
            provider=attempt.provider,
            attempt=attempt.number,
            provider_message_id=receipt.provider_message_id,
            duplicate=receipt.duplicate,
        )
        return None

    # -- result events --------------------------------------------------------------------

    def _event(
        self,
        type_: str,
        suffix: str,
        state: MessageState,
        data: BaseModel,
        cause: CloudEvent,
        provider: str | None,
    ) -> CloudEvent:
        return make_event(
            id=event_id(SOURCE, f"{state.message_id}:{suffix}"),
            source=SOURCE,
            type=type_,
            subject=state.message_id,
            data=data,
            provider=provider,
            traceparent=cause.traceparent,
        )

    def _common(self, state: MessageState, attempt: Attempt) -> dict[str, Any]:
        return {
            "message_id": state.message_id,
            "command_id": state.message_id,
            "provider": attempt.provider,
            "provider_message_id": attempt.provider_message_id,
            "to": state.to,
            "attempt": attempt.number,
            "reference": state.reference,
            "template": state.template,
            "variant": state.variant,
        }

    async def _emit_accepted(
        self,
        state: MessageState,
        attempt: Attempt,
        ctx: Emitter,
        cause: CloudEvent,
        replay: bool = False,
    ) -> None:
        segments = segment(state.body).segments
        rate = self.settings.cost_per_segment.get(attempt.provider)
        cost = round(rate * segments, 6) if rate is not None else None
        data = SmsAccepted(
            **self._common(state, attempt),
            provider_status=attempt.provider_status or "accepted",
            segments=segments,
            cost=cost,
            currency=self.settings.currency if cost is not None else None,
        )
        event = self._event(
            "sms.message.accepted",
            f"accepted:{attempt.provider}",
            state,
            data,
            cause,
            attempt.provider,
        )
        await ctx.emit(event, ctx.topics.events("sms"))
        if not replay:
            metrics.MESSAGES.labels(attempt.provider, "accepted").inc()
            _count_variant(state, "accepted")
            metrics.SEGMENTS.labels(attempt.provider).inc(segments)
            if cost is not None:
                metrics.COST.labels(attempt.provider, self.settings.currency).inc(cost)
            self._export_rate(attempt.provider)

    async def _emit_failed_over(
        self,
        state: MessageState,
        old: Attempt,
        new: ProviderName,
        failure: Failure,
        ctx: Emitter,
        cause: CloudEvent,
    ) -> None:
        data = SmsFailedOver(
            **self._common(state, old),
            from_provider=old.provider,
            to_provider=new,
            reason=failure.reason[:500],
            error_code=failure.error_code,
            error_class=failure.error_class,
        )
        event = self._event(
            "sms.message.failed_over",
            f"failed_over:{old.provider}:{new}",
            state,
            data,
            cause,
            old.provider,
        )
        await ctx.emit(event, ctx.topics.events("sms"))
        metrics.MESSAGES.labels(old.provider, "failed_over").inc()
        self._export_rate(old.provider)
        log.warning(
            "sms.failed_over",
            message_id=state.message_id,
            from_provider=old.provider,
            to_provider=new,
            error_class=failure.error_class,
        )

    async def _fail(
        self,
        state: MessageState,
        ctx: Emitter,
        failure: Failure,
        cause: CloudEvent,
        replay: bool = False,
    ) -> NoReturn:
        """Emit the terminal ``sms.message.failed`` and raise, so the record is dead-lettered."""
        last = state.current
        common = (
            self._common(state, last)
            if last
            else {
                "message_id": state.message_id,
                "command_id": state.message_id,
                "to": state.to,
                "reference": state.reference,
                "template": state.template,
                "variant": state.variant,
            }
        )
        common["provider"] = last.provider if last else None
        data = SmsFailed(
            **common,
            error_code=failure.error_code,
            error_class=failure.error_class,
            reason=failure.reason[:500],
            attempts=state.records(),
        )
        event = self._event("sms.message.failed", "failed", state, data, cause, common["provider"])
        await ctx.emit(event, ctx.topics.events("sms"))
        metrics.MESSAGES.labels(common["provider"] or "none", "failed").inc()
        if not replay:
            _count_variant(state, "failed")
        log.warning(
            "sms.failed",
            message_id=state.message_id,
            error_class=failure.error_class,
            attempts=len(state.attempts),
        )
        tried = ", ".join(
            f"{a.provider}={a.error_code or '-'}/{a.error_class or '-'}" for a in state.attempts
        )
        raise MessageFailed(
            f"sms {state.message_id} failed ({failure.error_class}): {failure.reason}; "
            f"attempts: {tried or 'none'}",
            code=failure.error_class,
            details={
                "message_id": state.message_id,
                "error_code": failure.error_code,
                "attempts": [a.model_dump(mode="json") for a in state.records()],
            },
        )

    def _export_rate(self, provider: str) -> None:
        rate = self.tracker.rate(provider)
        metrics.SUCCESS_RATE.labels(provider).set(-1 if rate is None else rate)

    async def aclose(self) -> None:
        for client in self.providers.values():
            await client.aclose()
        await self.store.close()


def _count_variant(state: MessageState, outcome: str) -> None:
    if state.template is not None and state.variant is not None:
        metrics.TEMPLATE_OUTCOMES.labels(state.template, state.variant, outcome).inc()


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]


def _invalid(exc: InvalidPhoneNumber) -> Failure:
    return Failure("invalid_recipient", None, str(exc), failover=False, provider_fault=False)


def _last_failure(state: MessageState) -> Failure:
    last = state.current
    error_class = (last.error_class if last else None) or "no_provider"
    return Failure(error_class, last.error_code if last else None, "already failed", False, False)


def _exhausted(state: MessageState, previous: Failure | None) -> Failure:
    """Rule 8: the last error, or ``no_provider`` when none was even eligible."""
    if previous is None or not state.attempts:
        return Failure("no_provider", None, "no provider can send to this number", False, False)
    return previous
