"""Topic names (docs/architecture.md#the-flow) and topic creation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hookline.config.models import HooklineSettings

EVENT_DOMAINS = ("sms", "colt", "reservation", "charging")
COMMAND_SERVICES = ("sms", "colt", "reservation")


@dataclass(frozen=True)
class Topics:
    """Names of every topic under one prefix."""

    prefix: str = "hookline"

    def events(self, domain: str) -> str:
        return f"{self.prefix}.events.{domain}"

    def commands(self, service: str) -> str:
        return f"{self.prefix}.commands.{service}"

    def retry(self, service: str, tier: str) -> str:
        return f"{self.prefix}.retry.{service}.{tier}"

    def dlq(self, service: str) -> str:
        return f"{self.prefix}.dlq.{service}"

    @property
    def ingress_dlq(self) -> str:
        return self.dlq("ingress")

    @property
    def rejected(self) -> str:
        """Requests the ingress refused, masked (docs/console.md#rejected-requests)."""
        return f"{self.prefix}.rejected"

    @property
    def audit_http(self) -> str:
        """One record per outbound provider call a worker made (hookline.http.audit)."""
        return f"{self.prefix}.audit.http"

    @property
    def replays(self) -> str:
        """One mark per replayed dead letter, keyed by its DLQ coordinates."""
        return f"{self.prefix}.admin.replays"


# Bounded by time where the broker enforces it (the embedded one stores but does not
# enforce retention: readers bound what they read as well).
REJECTED_RETENTION_MS = 7 * 24 * 3600 * 1000


def topic_configs(settings: HooklineSettings) -> dict[str, dict[str, str]]:
    """Per-topic settings given at creation: retention for rejected requests."""
    topics = Topics(settings.kafka.topic_prefix)
    return {
        topics.rejected: {"retention.ms": str(REJECTED_RETENTION_MS), "cleanup.policy": "delete"},
    }


def generic_domains(settings: HooklineSettings, adapter_domains: dict[str, str | None]) -> set[str]:
    """Sources whose provider has no domain of its own publish to a topic named after them."""
    return {
        name
        for name, source in settings.sources.items()
        if adapter_domains.get(source.provider) is None
    }


def all_topics(
    settings: HooklineSettings, extra_domains: Iterable[str] = (), services: Iterable[str] = ()
) -> list[str]:
    topics = Topics(settings.kafka.topic_prefix)
    names = [topics.events(d) for d in (*EVENT_DOMAINS, *sorted(set(extra_domains)))]
    all_services = sorted({*COMMAND_SERVICES, "reactor", *services})
    for service in COMMAND_SERVICES:
        names.append(topics.commands(service))
    for service in all_services:
        names.extend(topics.retry(service, tier) for tier in settings.worker.retry_tiers)
        names.append(topics.dlq(service))
    names.append(topics.ingress_dlq)
    names.extend([topics.rejected, topics.replays, topics.audit_http])
    return list(dict.fromkeys(names))
