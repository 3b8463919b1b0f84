"""One reconciliation pass, and the bookkeeping of open entities (docs/reconcile.md).

The ``reconcile`` worker records an entity when a result says it started
(``sms.message.accepted``, ``colt.order.submitted``, a session start's or a
booking's ``*.command.succeeded``) and forgets it when its final state is seen,
whichever path brought it. A pass asks the provider about
every entity quiet for ``after_seconds``; a changed status becomes the event
the callback would have carried: the provider's own adapter turns the webhook
the status stands for into the event, so its id is the callback's.

Nothing downstream sees two: with ``redis_url`` the pass takes the ingress's
dedup key (``hookline:dedup:{source}:{event id}``) before publishing, so a
callback arriving later is answered ``duplicate`` by the ingress, and one that
came first makes the pass publish nothing. An entity is forgotten only after its
event was acknowledged by Kafka, so a pass killed half-way forgets nothing; the
next pass finds the dedup key taken and only closes the entity.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.config.redis_auth import redis_from_url
from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import (
    CircuitOpenError,
    HooklineError,
    NormalizationError,
    RetryableError,
)
from hookline.providers import registry
from hookline.providers.base import ProviderSpec, RawWebhook
from hookline.providers.reconcile import Entity, Observation
from hookline.services.reconcile import metrics
from hookline.services.reconcile.config import ReconcileSettings, reconcile_settings
from hookline.signatures.base import Headers
from hookline.worker.open_entities import OpenStore, open_store

log = structlog.get_logger("hookline.reconcile")

Publish = Callable[[CloudEvent, str], Awaitable[None]]
# The ingress's Redis dedup keys (ingress/dedup_redis.py): "{prefix}{source}:{event id}".
DEDUP_PREFIX = "hookline:dedup:"
_DONE = b"done:"

SMS_FINAL = ("sms.message.delivered", "sms.message.undelivered")
COLT_FINAL = frozenset({"completed", "rejected", "cancelled"})
CHARGING_FINAL = ("charging.session.completed", "charging.session.failed")
# The platforms whose bookings are reconciled (Shell's connector reservations are not:
# its check reads sessions); a booking ends with its cancellation (or its stay, see below).
BOOKING_PROVIDERS = frozenset({"opentable", "recreation_gov"})
BOOKING_FINAL = ("reservation.booking.cancelled",)
DAY = 86_400.0


@dataclass
class Finding:
    """What a pass did about one entity, for ``hookline reconcile`` to print."""

    key: str
    subject: str
    # published, duplicate, unchanged, closed, stale, error, would_publish, would_close
    action: str
    status: str
    event_type: str | None = None
    event_id: str | None = None
    detail: str | None = None


@dataclass
class PassReport:
    findings: list[Finding] = field(default_factory=list)
    open_entities: int = 0
    # Every open entity of the providers the pass covered (due or not), oldest first.
    entities: list[Entity] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for f in self.findings if f.action == action)


def reconcilable(settings: HooklineSettings) -> dict[str, ProviderSpec]:
    """Providers with a status check, a configured client and reconciliation on."""
    config = reconcile_settings(settings)
    return {
        name: spec
        for name, spec in registry.PROVIDERS.items()
        if spec.reconcile is not None
        and spec.client is not None
        and name in settings.providers
        and config.provider(name).enabled
    }


# What a booking is, in the events' words (BookingEvent): a read that differs is a modification.
BOOKING_DETAILS = ("date", "time", "end_date", "site_id", "party_size")


def booking_details(booking: Any) -> dict[str, Any]:
    """The details of a booking event or a create result (whose stay starts at ``start_date``)."""
    if not isinstance(booking, dict):
        return {}
    found = {**booking, "date": booking.get("date") or booking.get("start_date")}
    return {k: found[k] for k in BOOKING_DETAILS if found.get(k) is not None}


def stay_until(booking: Any) -> float:
    """The epoch a booking's stay is surely over: a day after its last day (any time zone),
    from ``end_date`` (a stay) or ``date`` (a table); 0 when the booking says neither."""
    if not isinstance(booking, dict):
        return 0.0
    last = booking.get("end_date") or booking.get("date") or booking.get("start_date")
    try:
        day = datetime.fromisoformat(str(last)[:10]).replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return day.timestamp() + 2 * DAY


class Reconciler:
    def __init__(
        self,
        settings: HooklineSettings,
        *,
        store: OpenStore | None = None,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.config: ReconcileSettings = reconcile_settings(settings)
        self.store = store or open_store(settings)
        self.publish = publish
        self.clock = clock
        self.topics = Topics(settings.kafka.topic_prefix)
        self.specs = reconcilable(settings)
        self._clients: dict[str, Any] = {}
        self._dedup: Redis | None = (
            redis_from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
            if settings.redis_url is not None
            else None
        )
        # Per provider: how many intervals to wait after a pass the provider pushed back on.
        self.backoff: dict[str, int] = {}
        self._skip: dict[str, int] = {}

    async def aclose(self) -> None:
        for client in self._clients.values():
            closer = getattr(client, "aclose", None)
            if closer is not None:
                await closer()
        self._clients.clear()
        if self._dedup is not None:
            await self._dedup.aclose()
        await self.store.aclose()

    # ---- bookkeeping, from the events the worker consumes ---------------------------

    async def track(self, event: CloudEvent) -> None:
        """Open, touch or close the entity ``event`` is about."""
        data: Any = event.data if isinstance(event.data, dict) else {}
        now = self.clock()
        kind = event.type
        if kind.startswith("sms.message."):
            await self._track_sms(event, data, now)
        elif kind.startswith("colt.order."):
            await self._track_colt(event, data, now)
        elif kind.startswith("charging."):
            await self._track_charging(event, data, now)
        elif kind.startswith("reservation."):
            await self._track_booking(event, data, now)

    async def _open(self, entity: Entity) -> None:
        if await self.store.open(entity):
            log.info("reconcile.opened", key=entity.key, subject=entity.subject)

    async def _news(
        self, event: CloudEvent, key: str, final: bool, status: str, now: float
    ) -> None:
        """A final state closes the entity; any other news touches it."""
        if final:
            if await self.store.close(key):
                log.info("reconcile.closed", key=key, by=event.type)
        else:
            await self._touch(key, status, now)

    async def _track_sms(self, event: CloudEvent, data: Any, now: float) -> None:
        if not data.get("provider_message_id"):
            return
        if event.type == "sms.message.accepted":
            await self._open(
                Entity(
                    provider=str(data["provider"]),
                    entity_id=str(data["provider_message_id"]),
                    kind="sms.message",
                    subject=str(data.get("message_id") or event.subject or ""),
                    status=str(data.get("provider_status") or "accepted"),
                    opened_at=now,
                    last_news_at=now,
                    context={"to": data.get("to")},
                )
            )
            return
        key = f"{data.get('provider')}:{data['provider_message_id']}"
        status = str(data.get("provider_status") or "")
        await self._news(event, key, event.type in SMS_FINAL, status, now)

    async def _track_colt(self, event: CloudEvent, data: Any, now: float) -> None:
        kind = event.type
        if kind == "colt.order.submit":
            await self.store.remember(
                f"colt:{event.id}",
                {
                    "technical_contacts": data.get("technical_contacts") or [],
                    "quote_id": data.get("quote_id"),
                    "purchase_order_number": data.get("purchase_order_number"),
                },
            )
        elif kind == "colt.order.submitted" and data.get("order_id"):
            # The command and its result travel on different topics: when the result is
            # handled first, the pass recalls the command's context later (context_key).
            context_key = f"colt:{data.get('command_id')}"
            context = {"context_key": context_key, **(await self.store.recall(context_key) or {})}
            await self._open(
                Entity(
                    provider="colt",
                    entity_id=str(data["order_id"]),
                    kind="colt.order",
                    subject=str(data["order_id"]),
                    status=str(data.get("status") or "acknowledged"),
                    opened_at=now,
                    last_news_at=now,
                    context=context,
                )
            )
        elif kind == "colt.order.state_changed" and data.get("order_id"):
            final = data.get("status") in COLT_FINAL
            status = str(data.get("status") or "")
            await self._news(event, f"colt:{data['order_id']}", final, status, now)

    async def _track_charging(self, event: CloudEvent, data: Any, now: float) -> None:
        if not data.get("session_id"):
            return
        provider = str(data.get("provider") or "shell_recharge")
        if event.type == "charging.command.succeeded":
            if data.get("command_type") != "charging.session.start":
                return
            await self._open(
                Entity(
                    provider=provider,
                    entity_id=str(data["session_id"]),
                    kind="charging.session",
                    subject=str(data["session_id"]),
                    status="starting",
                    opened_at=now,
                    last_news_at=now,
                )
            )
        elif event.type.startswith("charging.session."):
            final = event.type in CHARGING_FINAL
            status = str(data.get("status") or "")
            await self._news(event, f"{provider}:{data['session_id']}", final, status, now)

    async def _track_booking(self, event: CloudEvent, data: Any, now: float) -> None:
        provider = str(data.get("provider") or "")
        if provider not in BOOKING_PROVIDERS or not data.get("reservation_id"):
            return
        key = f"{provider}:{data['reservation_id']}"
        if event.type == "reservation.command.succeeded":
            # Only a create opens. hookline's own modify and cancel still expect the
            # platform's callback: their results only restart the quiet time, so a pass
            # does not read the change before its callback had the time to come.
            if data.get("command_type") != "reservation.create":
                await self._touch(key, "", now)
                return
            result = data.get("result") if isinstance(data.get("result"), dict) else {}
            await self._open(
                Entity(
                    provider=provider,
                    entity_id=str(data["reservation_id"]),
                    kind="reservation.booking",
                    subject=str(data["reservation_id"]),
                    status=str(result.get("status") or "confirmed"),
                    opened_at=now,
                    last_news_at=now,
                    context={"until": stay_until(result), "booking": booking_details(result)},
                )
            )
        elif event.type.startswith("reservation.booking."):
            status = str(data.get("status") or "")
            await self._news(event, key, event.type in BOOKING_FINAL, status, now)
            if event.type == "reservation.booking.modified":
                await self._moved(key, data)

    async def _moved(self, key: str, data: Any) -> None:
        """A modification moves the booking: the entity stays open until its new end, and
        the check compares the next read with the booking as the callback left it."""
        entity = await self.store.get(key)
        if entity is None:
            return
        entity.context["until"] = stay_until(data) or entity.context.get("until")
        entity.context["booking"] = {**entity.context.get("booking", {}), **booking_details(data)}
        await self.store.save(entity)

    async def _touch(self, key: str, status: str, now: float) -> None:
        entity = await self.store.get(key)
        if entity is None:
            return
        entity.last_news_at = now
        if status:
            entity.status = status
        await self.store.save(entity)

    # ---- a pass ------------------------------------------------------------------------

    def client(self, name: str) -> Any:
        if name not in self._clients:
            spec = self.specs[name]
            assert spec.client is not None
            self._clients[name] = spec.client(self.settings)
        return self._clients[name]

    def source(self, spec: ProviderSpec) -> str:
        configured = self.config.provider(spec.name).source
        if configured:
            return configured
        for name, source in self.settings.sources.items():
            if source.provider == spec.name:
                return name
        return spec.callback_source or spec.name

    async def run_pass(
        self, provider: str | None = None, *, dry_run: bool = False, periodic: bool = False
    ) -> PassReport:
        report = PassReport()
        entities = await self.store.all()
        report.open_entities = len(entities)
        report.entities = sorted(
            (e for e in entities if provider is None or e.provider == provider),
            key=lambda e: (e.opened_at, e.key),
        )
        self._export_open(entities)
        for name, spec in self.specs.items():
            if provider is not None and name != provider:
                continue
            if periodic and self._skip.get(name, 0) > 0:
                self._skip[name] -= 1
                continue
            mine = [e for e in entities if e.provider == name]
            pushed_back = await self._provider_pass(spec, mine, report, dry_run=dry_run)
            if pushed_back:
                factor = min(self.backoff.get(name, 1) * 2, self.config.max_backoff_factor)
                self.backoff[name] = factor
                self._skip[name] = factor - 1
                log.warning("reconcile.backing_off", provider=name, skip_passes=factor - 1)
            else:
                self.backoff.pop(name, None)
        return report

    def _export_open(self, entities: list[Entity]) -> None:
        now = self.clock()
        counts: dict[tuple[str, str], int] = {}
        for name in self.specs:
            for bucket, _ in metrics.AGE_BUCKETS:
                counts[(name, bucket)] = 0
        for entity in entities:
            bucket = metrics.age_bucket(now - entity.opened_at)
            counts[(entity.provider, bucket)] = counts.get((entity.provider, bucket), 0) + 1
        for (name, bucket), count in counts.items():
            metrics.OPEN.labels(name, bucket).set(count)

    async def _provider_pass(
        self, spec: ProviderSpec, entities: list[Entity], report: PassReport, *, dry_run: bool
    ) -> bool:
        """Ask about each due entity, one at a time (the client's limits pace the calls);
        True when the provider pushed back (429, 5xx, open breaker) and the pass stopped."""
        config = self.config.provider(spec.name)
        now = self.clock()
        recheck = config.recheck_seconds or config.after_seconds
        for entity in sorted(entities, key=lambda e: e.last_news_at):
            # A booking is not stale before its stay: give-up counts from the later of both.
            until = float(entity.context.get("until") or 0.0)
            if now - max(entity.opened_at, until) >= config.give_up_after_seconds:
                await self._stale(spec, entity, report, dry_run=dry_run)
                continue
            if now - entity.last_news_at < config.after_seconds:
                continue
            if now - entity.checked_at < recheck:
                continue
            await self._complete_context(entity)
            try:
                observation = await spec.reconcile(self.client(spec.name), entity)  # type: ignore[misc]
            except (CircuitOpenError, RetryableError) as exc:
                metrics.CHECKS.labels(spec.name, "error").inc()
                report.findings.append(
                    Finding(entity.key, entity.subject, "error", entity.status, detail=str(exc))
                )
                log.warning("reconcile.provider_pushed_back", provider=spec.name, error=str(exc))
                return True
            except HooklineError as exc:
                metrics.CHECKS.labels(spec.name, "error").inc()
                report.findings.append(
                    Finding(entity.key, entity.subject, "error", entity.status, detail=str(exc))
                )
                continue
            await self._observed(spec, entity, observation, report, dry_run=dry_run)
        return False

    async def _complete_context(self, entity: Entity) -> None:
        key = entity.context.get("context_key")
        if key and len(entity.context) == 1:
            entity.context.update(await self.store.recall(str(key)) or {})

    async def _observed(
        self,
        spec: ProviderSpec,
        entity: Entity,
        observation: Observation | None,
        report: PassReport,
        *,
        dry_run: bool,
    ) -> None:
        if observation is None or (
            observation.status == entity.status and not observation.final and not observation.news
        ):
            metrics.CHECKS.labels(spec.name, "unchanged").inc()
            report.findings.append(Finding(entity.key, entity.subject, "unchanged", entity.status))
            if not dry_run:
                entity.checks += 1
                entity.checked_at = self.clock()
                await self.store.save(entity)
            return
        metrics.CHECKS.labels(spec.name, "changed").inc()
        if observation.payload is None:
            await self._without_event(entity, observation, report, dry_run=dry_run)
            return
        source = self.source(spec)
        try:
            events = spec.adapter.normalize(
                RawWebhook(
                    source=source,
                    provider=spec.name,
                    body=b"",
                    content_type=observation.content_type,
                    headers=Headers(observation.headers),
                    query=observation.query,
                    received_at=datetime.now(UTC),
                    payload=observation.payload,
                )
            )
        except NormalizationError as exc:
            # One answer the adapter cannot read must not end the pass for every other entity.
            report.findings.append(
                Finding(entity.key, entity.subject, "error", observation.status, detail=str(exc))
            )
            log.warning("reconcile.unreadable_status", key=entity.key, error=str(exc))
            return
        if dry_run:
            for event in events:
                report.findings.append(
                    Finding(
                        entity.key,
                        entity.subject,
                        "would_publish",
                        observation.status,
                        event.type,
                        event.id,
                    )
                )
            return
        topic = self.topics.events(spec.adapter.domain or source)
        action = "published"
        if events and not await self._claim(source, events[0].id):
            action = "duplicate"
        else:
            try:
                for event in events:
                    await self._publish(event, topic)
            except BaseException:
                await self._unclaim(source, events[0].id)
                raise
        for event in events:
            metrics.EVENTS.labels(spec.name, action).inc()
            report.findings.append(
                Finding(
                    entity.key, entity.subject, action, observation.status, event.type, event.id
                )
            )
            log.info(
                "reconcile.state_changed",
                provider=spec.name,
                key=entity.key,
                status=observation.status,
                event_id=event.id,
                outcome=action,
            )
        if observation.final:
            await self.store.close(entity.key)
        else:
            entity.status = observation.status
            entity.last_news_at = self.clock()
            entity.checks += 1
            entity.context.update(observation.context)
            await self.store.save(entity)

    async def _without_event(
        self, entity: Entity, observation: Observation, report: PassReport, *, dry_run: bool
    ) -> None:
        """A status no callback stands for (a booking seated, completed, past its stay):
        nothing is published; a final one closes the entity, another one is recorded."""
        action = "closed" if observation.final else "unchanged"
        if dry_run:
            action = "would_close" if observation.final else action
        elif observation.final:
            await self.store.close(entity.key)
            log.info("reconcile.closed", key=entity.key, by="status", status=observation.status)
        else:
            entity.status = observation.status
            entity.checks += 1
            entity.checked_at = self.clock()
            await self.store.save(entity)
        report.findings.append(Finding(entity.key, entity.subject, action, observation.status))

    async def _publish(self, event: CloudEvent, topic: str) -> None:
        if self.publish is None:
            raise RuntimeError("this reconciler has no publisher (dry run only)")
        await self.publish(event, topic)

    async def _claim(self, source: str, event_id: str) -> bool:
        """Take the ingress's dedup key for this event; False when the callback has it."""
        if self._dedup is None:
            return True
        try:
            return bool(
                await self._dedup.set(
                    f"{DEDUP_PREFIX}{source}:{event_id}",
                    _DONE + event_id.encode(),
                    nx=True,
                    px=int(self.settings.dedup.window_seconds * 1000),
                )
            )
        except (RedisError, OSError) as exc:
            raise RetryableError("the dedup store (Redis) is unreachable") from exc

    async def _unclaim(self, source: str, event_id: str) -> None:
        if self._dedup is not None:
            try:
                await self._dedup.delete(f"{DEDUP_PREFIX}{source}:{event_id}")
            except (RedisError, OSError):
                log.warning("reconcile.unclaim_failed", event_id=event_id)

    async def _stale(
        self, spec: ProviderSpec, entity: Entity, report: PassReport, *, dry_run: bool
    ) -> None:
        event = make_event(
            source=source_uri("reconcile"),
            type=f"{entity.kind}.stale",
            subject=entity.subject,
            data={
                "provider": entity.provider,
                "provider_entity_id": entity.entity_id,
                "last_status": entity.status,
                "opened_at": datetime.fromtimestamp(entity.opened_at, UTC).isoformat(),
                "last_news_at": datetime.fromtimestamp(entity.last_news_at, UTC).isoformat(),
                "checks": entity.checks,
            },
            provider=entity.provider,
            provider_event_id=f"{entity.key}:stale",
        )
        if not dry_run:
            await self._publish(event, self.topics.events(spec.adapter.domain or spec.name))
            await self.store.close(entity.key)
            metrics.STALE.labels(spec.name).inc()
            log.warning("reconcile.stale", provider=spec.name, key=entity.key, status=entity.status)
        report.findings.append(
            Finding(entity.key, entity.subject, "stale", entity.status, event.type, event.id)
        )

    async def _take_turn(self) -> bool:
        """With Redis, one replica's pass per interval (the others skip it): the providers are
        asked once, not once per replica. Redis unreachable: pass anyway (asking twice is safe)."""
        if self._dedup is None:
            return True
        try:
            return bool(
                await self._dedup.set(
                    f"{self.settings.kafka.topic_prefix}:reconcile:turn",
                    b"1",
                    nx=True,
                    px=max(1, int(self.config.interval_seconds * 900)),
                )
            )
        except (RedisError, OSError):
            return True

    async def run_forever(self) -> None:
        """Passes every ``interval_seconds`` until cancelled; a failed pass is logged, not fatal."""
        while True:
            await asyncio.sleep(self.config.interval_seconds)
            if not await self._take_turn():
                continue
            try:
                report = await self.run_pass(periodic=True)
            except Exception as exc:  # the next pass tries again
                log.warning("reconcile.pass_failed", error=type(exc).__name__, detail=str(exc))
                continue
            if report.findings:
                log.info(
                    "reconcile.pass",
                    open=report.open_entities,
                    published=report.count("published"),
                    duplicate=report.count("duplicate"),
                    stale=report.count("stale"),
                )
