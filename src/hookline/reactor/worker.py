"""Worker ``reactor``: consume the events the rules listen to, publish their commands."""

from __future__ import annotations

import structlog

from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.errors import ConfigError
from hookline.messages import all_types
from hookline.observability import tracing
from hookline.reactor import metrics
from hookline.reactor.engine import Engine
from hookline.reactor.rules import active_rules
from hookline.worker.handlers import HandlerContext, HandlerRegistry
from hookline.worker.registry import WorkerSpec

log = structlog.get_logger("hookline.reactor")


def _topic(prefix: str, type_name: str) -> str:
    message = all_types().get(type_name)
    if message is None:
        raise ConfigError(f"reactor: unknown type {type_name!r}")
    return f"{prefix}.{message.topic}"


async def create_worker(settings: HooklineSettings) -> WorkerSpec:
    engine = Engine(active_rules(settings))
    prefix = settings.kafka.topic_prefix
    command_topics = {r.rule.emit: _topic(prefix, r.rule.emit) for r in engine.rules}

    async def react(event: CloudEvent, ctx: HandlerContext) -> None:
        for outcome in engine.react(event):
            if outcome.command is None:
                reason = (outcome.skipped or "unknown").split(":")[0]
                metrics.SKIPPED.labels(outcome.rule, reason).inc()
                log.info(
                    "reactor.skipped", rule=outcome.rule, event_id=event.id, reason=outcome.skipped
                )
                continue
            with tracing.span(
                f"reactor rule {outcome.rule}",
                attributes={
                    "hookline.rule": outcome.rule,
                    "hookline.command_type": outcome.command.type,
                },
            ):
                # The command continues the trace from this decision.
                outcome.command.traceparent = tracing.current_traceparent(
                    outcome.command.traceparent
                )
                await ctx.emit(outcome.command, command_topics[outcome.command.type])
            metrics.COMMANDS.labels(outcome.rule).inc()
            log.info(
                "reactor.command",
                rule=outcome.rule,
                event_id=event.id,
                command_id=outcome.command.id,
                command=outcome.command.type,
            )

    handlers = HandlerRegistry({event_type: react for event_type in engine.event_types})
    topics = sorted({_topic(prefix, t) for t in engine.event_types})
    return WorkerSpec(service="reactor", topics=topics, handlers=handlers)


__all__ = ["create_worker"]
