"""Worker ``colt``: one handler per command on ``commands.colt`` (docs/providers/colt.md#commands).

Every command ends in exactly one terminal result on ``events.colt`` carrying
``command_id``; a permanent failure (invalid command, Colt 4xx, 500) emits
``colt.command.failed`` with Colt's ``field: issue`` details and then raises
:class:`PermanentError`, so the record is dead-lettered with the same text.
Retryable failures are raised as they are: the runtime retries in place, then
on the retry tiers. Order submission is effect-once: the runtime's idempotency
store guards the command id, the same id goes to Colt as ``Idempotency-Key``,
and since Colt does not document honouring it, every attempt reads the quote
first and an unanswered submit is followed by that read, never by a blind
resubmission: a quote that names an order of this purchase order continues it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from hookline.envelope import CloudEvent
from hookline.errors import PermanentError, ProviderRejected, ProviderUnavailable
from hookline.messages import colt as m
from hookline.providers.colt.client import ColtClient
from hookline.services.colt.results import SOURCE, internal_command, readable, result_event
from hookline.services.colt.thresholds import Thresholds, breaches, latest_usage
from hookline.services.colt.watch import Schedule
from hookline.worker.commands import CommandHandlers, Failure
from hookline.worker.handlers import Handler, HandlerContext

log = structlog.get_logger("hookline.services.colt")

C = TypeVar("C", bound=BaseModel)
WATCH_CHECK = "colt.service.watch_check"
# A submit that failed this way may still have created the order at Colt.
AMBIGUOUS_CODES = frozenset({"TIMEOUT", "NETWORK", "BAD_GATEWAY", "GATEWAY_TIMEOUT"})


def _field_issues(details: Any) -> list[m.FieldIssue]:
    items = details.get("details") if isinstance(details, dict) else details
    if not isinstance(items, list):
        return []
    return [
        m.FieldIssue(field=str(i.get("field", "")), issue=str(i.get("issue", "")))
        for i in items
        if isinstance(i, dict)
    ]


class ColtHandlers(CommandHandlers):
    """The handlers of worker ``colt``, sharing one Colt client."""

    def __init__(
        self,
        client: ColtClient,
        thresholds: Thresholds,
        schedule: Schedule,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.thresholds = thresholds
        self.schedule = schedule
        self.clock = clock

    def handlers(self) -> dict[str, Handler]:
        return {
            "colt.availability.check": self.availability_check,
            "colt.quote.create": self.quote_create,
            "colt.quote.get": self.quote_get,
            "colt.order.submit": self.order_submit,
            "colt.order.modify": self.order_modify,
            "colt.order.cancel": self.order_cancel,
            "colt.order.track": self.order_track,
            "colt.service.get": self.service_get,
            "colt.service.check_usage": self.service_check_usage,
            "colt.service.watch": self.service_watch,
            WATCH_CHECK: self.watch_check,
        }

    async def report_failure(
        self, event: CloudEvent, ctx: HandlerContext, type_: str, failure: Failure
    ) -> None:
        anchor = event.id
        if type_ == WATCH_CHECK and isinstance(event.data, dict):
            anchor = str(event.data.get("watch_command_id") or event.id)
        failed = m.CommandFailed(
            command_id=anchor,
            command_type=type_,
            http_status=failure.http_status,
            error_code=failure.code,
            message=readable(failure.code, failure.http_status, failure.message),
            provider_message=failure.message,
            details=_field_issues(failure.details),
            retryable=failure.retryable,
            attempts=ctx.attempt,
        )
        await ctx.emit(
            result_event(event, "colt.command.failed", failed, anchor, anchor=anchor),
            ctx.topics.events("colt"),
        )
        log.warning("colt.command_failed", command_id=anchor, type=type_, code=failed.error_code)

    @staticmethod
    def _parse(event: CloudEvent, model: type[C]) -> C:
        try:
            command = model.model_validate(event.data)
        except ValidationError as exc:
            details = [
                {"field": ".".join(str(p) for p in e["loc"]) or "data", "issue": e["msg"]}
                for e in exc.errors()
            ]
            pairs = ", ".join(f"{d['field']}: {d['issue']}" for d in details)
            raise PermanentError(
                f"invalid {event.type} command ({pairs})", code="INVALID_COMMAND", details=details
            ) from exc
        given = getattr(command, "command_id", None)
        if given is not None and given != event.id:
            raise PermanentError(
                f"data.command_id {given!r} differs from the CloudEvent id {event.id!r}",
                code="COMMAND_ID_MISMATCH",
            )
        return command

    @staticmethod
    async def _emit(ctx: HandlerContext, event: CloudEvent) -> None:
        await ctx.emit(event, ctx.topics.events("colt"))

    # ---------------------------------------------------------------- commands

    async def availability_check(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.AvailabilityCheck)
        body = await self.client.check_availability(command, idempotency_key=ctx.idempotency_key)
        results = []
        for item in body.get("availability") or []:
            services = item.get("services") or []
            first = services[0] if services and isinstance(services[0], dict) else {}
            lead = (first.get("leadTime") or {}).get("standard")
            results.append(
                m.LocationResult(
                    location_id=str(item.get("locationId")),
                    serviceable=bool(item.get("serviceable")),
                    on_net=item.get("onNet"),
                    bandwidth_options=[str(b) for b in first.get("bandwidthOptions") or []],
                    standard_lead_time_days=lead if isinstance(lead, int) else None,
                    requires_build_cost=item.get("buildCost") is not None,
                )
            )
        data = m.AvailabilityChecked(
            command_id=event.id, request_id=str(body.get("requestId", "")), results=results
        )
        await self._emit(ctx, result_event(event, "colt.availability.checked", data, event.id))

    async def quote_create(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.QuoteCreate)
        body = await self.client.create_quote(command, idempotency_key=ctx.idempotency_key)
        totals = (body.get("pricing") or {}).get("totals") or {}
        data = m.QuoteCreated(
            command_id=event.id,
            quote_id=str(body["quoteId"]),
            status=str(body.get("status", "valid")),
            currency=str(body.get("currency", command.currency)),
            total_contract_value=float(totals.get("totalContractValue", 0.0)),
            valid_until=body.get("validUntil"),
        )
        await self._emit(ctx, result_event(event, "colt.quote.created", data, data.quote_id))

    async def quote_get(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.QuoteGet)
        body = await self.client.get_quote(command.quote_id)
        totals = (body.get("pricing") or {}).get("totals") or {}
        value = totals.get("totalContractValue")
        data = m.QuoteRetrieved(
            command_id=event.id,
            quote_id=str(body.get("quoteId", command.quote_id)),
            status=str(body.get("status", "")),
            currency=body.get("currency"),
            total_contract_value=float(value) if isinstance(value, (int, float)) else None,
            valid_until=body.get("validUntil"),
            order_id=body.get("orderId"),
        )
        await self._emit(ctx, result_event(event, "colt.quote.retrieved", data, data.quote_id))

    async def order_submit(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.OrderSubmit)
        # The guide reviews the quote before ordering: an expired quote fails here,
        # before any money is committed, and a quote this command already ordered
        # (an earlier attempt whose answer was lost) is continued, not ordered twice.
        quote = await self.client.get_quote(command.quote_id)
        body = await self._existing_order(quote, command)
        recovered = body is not None
        if body is None:
            if quote.get("status") == "expired":
                raise ProviderRejected(
                    f"quote {command.quote_id} has expired", code="QUOTE_EXPIRED"
                )
            try:
                body = await self.client.submit_order(command, idempotency_key=ctx.idempotency_key)
            except (ProviderUnavailable, ProviderRejected) as exc:
                body, recovered = await self._after_lost_answer(command, exc), True
        data = m.OrderSubmitted(
            command_id=event.id,
            order_id=str(body["orderId"]),
            quote_id=str(body.get("quoteId") or command.quote_id),
            purchase_order_number=str(
                body.get("purchaseOrderNumber") or command.purchase_order_number
            ),
            status=str(body.get("status") or body.get("overallStatus") or "acknowledged"),
            recovered=recovered,
        )
        log.info(
            "colt.order_submitted", command_id=event.id, order_id=data.order_id, recovered=recovered
        )
        await self._emit(ctx, result_event(event, "colt.order.submitted", data, data.order_id))

    async def _after_lost_answer(
        self, command: m.OrderSubmit, exc: ProviderUnavailable | ProviderRejected
    ) -> dict[str, Any]:
        """After a submit that may have created the order without saying so, the order found
        by its quote; otherwise ``exc`` stands (the runtime's retry looks up again first)."""
        lost = (
            exc.code == "QUOTE_ALREADY_ORDERED"  # another attempt of ours got there first
            if isinstance(exc, ProviderRejected)
            else exc.code in AMBIGUOUS_CODES or getattr(exc, "status", None) in (502, 504)
        )
        if not lost:
            raise exc
        log.warning("colt.order_submit_unanswered", quote_id=command.quote_id, code=exc.code)
        found = await self._existing_order(await self.client.get_quote(command.quote_id), command)
        if found is None:
            raise exc
        return found

    async def _existing_order(
        self, quote: dict[str, Any], command: m.OrderSubmit
    ) -> dict[str, Any] | None:
        """The order this command's purchase order already placed on the quote, if any."""
        if quote.get("status") != "ordered":
            return None
        order_id = quote.get("orderId")
        if not order_id:
            raise ProviderRejected(
                f"quote {command.quote_id} is already ordered and Colt's quote does not name "
                "the order; check with Colt before ordering again",
                code="QUOTE_ALREADY_ORDERED",
            )
        order = await self.client.order_status(str(order_id))
        po_number = order.get("purchaseOrderNumber")
        if po_number is not None and po_number != command.purchase_order_number:
            raise ProviderRejected(
                f"quote {command.quote_id} is already ordered as {order_id} by purchase order "
                f"{po_number}, not {command.purchase_order_number}",
                code="QUOTE_ALREADY_ORDERED",
            )
        log.info("colt.order_found", quote_id=command.quote_id, order_id=order_id)
        return {**order, "orderId": str(order_id), "status": order.get("overallStatus")}

    async def order_modify(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.OrderModify)
        body = await self.client.modify_order(command, idempotency_key=ctx.idempotency_key)
        data = m.OrderModified(
            command_id=event.id,
            order_id=str(body.get("orderId", command.order_id)),
            overall_status=body["overallStatus"],
            requested_delivery_date=body.get("requestedDeliveryDate"),
            estimated_completion_date=body.get("estimatedCompletionDate"),
        )
        await self._emit(ctx, result_event(event, "colt.order.modified", data, data.order_id))

    async def order_cancel(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.OrderCancel)
        body = await self.client.cancel_order(
            command.order_id, reason=command.reason, idempotency_key=ctx.idempotency_key
        )
        data = m.OrderCancelled(
            command_id=event.id,
            order_id=str(body.get("orderId", command.order_id)),
            overall_status=body["overallStatus"],
            reason=body.get("reason"),
        )
        await self._emit(ctx, result_event(event, "colt.order.cancelled", data, data.order_id))

    async def order_track(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.OrderTrack)
        body = await self.client.order_status(command.order_id)
        data = m.OrderTracked(
            command_id=event.id,
            order_id=str(body.get("orderId", command.order_id)),
            overall_status=body["overallStatus"],
            percent_complete=body.get("percentComplete"),
            milestones=[
                m.Milestone(
                    name=str(x.get("name")),
                    status=str(x.get("status")),
                    completed_at=x.get("completedAt"),
                )
                for x in body.get("milestones") or []
                if isinstance(x, dict)
            ],
            estimated_completion_date=body.get("estimatedCompletionDate"),
            service_id=body.get("serviceId"),
            reason=body.get("reason"),
            last_updated=body.get("lastUpdated"),
        )
        await self._emit(ctx, result_event(event, "colt.order.tracked", data, data.order_id))

    async def service_get(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.ServiceGet)
        body = await self.client.service(command.service_id)
        data = self._service_data(event.id, command.service_id, body)
        await self._emit(ctx, result_event(event, "colt.service.retrieved", data, data.service_id))

    @staticmethod
    def _service_data(command_id: str, service_id: str, body: dict[str, Any]) -> m.ServiceRetrieved:
        return m.ServiceRetrieved(
            command_id=command_id,
            service_id=str(body.get("serviceId", service_id)),
            order_id=body.get("orderId"),
            status=str(body.get("status", "")),
            service_type=body.get("serviceType"),
            bandwidth=body.get("bandwidth"),
            bandwidth_unit=body.get("bandwidthUnit"),
            configuration=body.get("configuration") or {},
            activated_at=body.get("activatedAt"),
        )

    async def service_check_usage(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.ServiceCheckUsage)
        body = await self.client.usage(
            command.service_id, window_hours=command.window_hours, granularity=command.granularity
        )
        usage = latest_usage(command.service_id, body, event.id)
        for type_, alert in breaches(usage, self.thresholds.for_command(command)):
            await self._emit(ctx, result_event(event, type_, alert, command.service_id))
        await self._emit(
            ctx, result_event(event, "colt.service.usage_reported", usage, command.service_id)
        )

    # ---------------------------------------------------------------- watch

    async def service_watch(self, event: CloudEvent, ctx: HandlerContext) -> None:
        command = self._parse(event, m.ServiceWatch)
        now = self.clock()
        deadline = now + command.duration_seconds if command.duration_seconds else None
        pending = m.WatchContinuation(
            watch=command, watch_command_id=event.id, check=1, due_at=now, deadline=deadline
        )
        await self._run_check(event, ctx, pending)

    async def watch_check(self, event: CloudEvent, ctx: HandlerContext) -> None:
        pending = self._parse(event, m.WatchContinuation)
        step = self.schedule.step(pending, self.clock())
        if step.kind == "hop":
            assert step.tier is not None
            await self._send_pending(
                event,
                ctx,
                pending.model_copy(update={"via_tier": True}),
                f"{event.id}:hop",
                ctx.topics.retry("colt", step.tier),
            )
            return
        if step.kind == "return":
            await self._send_pending(
                event,
                ctx,
                pending.model_copy(update={"via_tier": False}),
                f"{event.id}:run",
                ctx.topics.commands("colt"),
            )
            return
        if step.wait > 0:
            await asyncio.sleep(step.wait)
        await self._run_check(event, ctx, pending)

    async def _send_pending(
        self,
        event: CloudEvent,
        ctx: HandlerContext,
        pending: m.WatchContinuation,
        name: str,
        topic: str,
    ) -> None:
        record = internal_command(event, WATCH_CHECK, pending, pending.watch.service_id, name)
        await ctx.emit(record, topic)

    async def _run_check(
        self, event: CloudEvent, ctx: HandlerContext, pending: m.WatchContinuation
    ) -> None:
        watch, watch_id, n = pending.watch, pending.watch_command_id, pending.check
        service = await self.client.service(watch.service_id)
        body = await self.client.usage(
            watch.service_id, window_hours=watch.window_hours, granularity=watch.granularity
        )
        usage = latest_usage(watch.service_id, body, watch_id)
        found = breaches(usage, self.thresholds.for_command(watch))
        for type_, alert in found:
            await self._emit(
                ctx,
                result_event(
                    event, type_, alert, watch.service_id, anchor=watch_id, suffix=f"check{n}"
                ),
            )
        status = str(service.get("status", "")) or None
        alerts = pending.alerts + len(found)
        log.info(
            "colt.watch_checked",
            watch_id=watch_id,
            service_id=watch.service_id,
            check=n,
            status=status,
            alerts=len(found),
        )
        next_due = pending.due_at + watch.interval_seconds
        ended: str | None = None
        if watch.max_checks is not None and n >= watch.max_checks:
            ended = "max_checks"
        elif pending.deadline is not None and next_due > pending.deadline:
            ended = "duration"
        if ended is not None:
            done = m.WatchCompleted(
                command_id=watch_id,
                service_id=watch.service_id,
                checks=n,
                alerts=alerts,
                last_status=status,
                ended=ended,
            )
            await self._emit(
                ctx,
                result_event(
                    event, "colt.service.watch_completed", done, watch.service_id, anchor=watch_id
                ),
            )
            return
        following = m.WatchContinuation(
            watch=watch,
            watch_command_id=watch_id,
            check=n + 1,
            due_at=next_due,
            deadline=pending.deadline,
            alerts=alerts,
            last_status=status,
        )
        step = self.schedule.step(following, self.clock())
        name = f"{watch_id}:check:{n + 1}"
        if step.kind == "hop":
            assert step.tier is not None
            await self._send_pending(
                event,
                ctx,
                following.model_copy(update={"via_tier": True}),
                name,
                ctx.topics.retry("colt", step.tier),
            )
        else:
            await self._send_pending(event, ctx, following, name, ctx.topics.commands("colt"))


__all__ = ["SOURCE", "WATCH_CHECK", "ColtHandlers"]
