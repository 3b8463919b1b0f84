"""The ``sms`` worker: ``sms.send`` commands and the delivery reports that need a decision.

It consumes ``commands.sms`` (sends) and ``events.sms`` (an ``undelivered``
report may move the message to the next provider; ``delivered`` closes it).
Other ``sms.message.*`` types on that topic are skipped by the runtime.
"""

from __future__ import annotations

from collections.abc import Callable

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError
from hookline.providers import registry
from hookline.providers._sms.contract import SmsProvider
from hookline.services.sms.config import sms_settings
from hookline.services.sms.service import SmsService
from hookline.services.sms.state import MemoryMessageStore, MessageStore, RedisMessageStore
from hookline.services.sms.success import SuccessTracker
from hookline.worker.handlers import HandlerRegistry
from hookline.worker.registry import WorkerSpec


def _builders() -> dict[str, Callable[[HooklineSettings], SmsProvider]]:
    return {spec.name: spec.client for spec in registry.family("sms") if spec.client is not None}


def build_service(settings: HooklineSettings) -> SmsService:
    config = sms_settings(settings)
    builders = _builders()
    providers: dict[str, SmsProvider] = {
        name: builders[name](settings) for name in config.priority if name in settings.providers
    }
    if not providers:
        names = "/".join(builders)
        raise ConfigError(f"the sms worker needs at least one of providers.{names}")
    store: MessageStore
    if settings.redis_url is not None:
        store = RedisMessageStore(
            settings.redis_url,
            prefix=settings.kafka.topic_prefix,
            ttl_seconds=config.state_ttl_seconds,
        )
    else:
        store = MemoryMessageStore(config.state_ttl_seconds)
    tracker = SuccessTracker(
        config.success_window_seconds,
        threshold=config.success_threshold,
        min_samples=config.success_min_samples,
    )
    return SmsService(config, providers, store, tracker)


async def create_worker(settings: HooklineSettings) -> WorkerSpec:
    service = build_service(settings)
    topics = Topics(settings.kafka.topic_prefix)
    handlers = HandlerRegistry()
    handlers.register("sms.send", service.send)
    handlers.register("sms.message.undelivered", service.report_undelivered)
    handlers.register("sms.message.delivered", service.report_delivered)
    return WorkerSpec(
        service="sms",
        topics=[topics.commands("sms"), topics.events("sms")],
        handlers=handlers,
        close=service.aclose,
        background=[service.health.run] if service.health.interval > 0 else [],
    )
