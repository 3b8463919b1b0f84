"""Topic administration; the broker reports per-topic errors inside its answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from hookline.bus.connection import client_options
from hookline.config.models import KafkaSettings

TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicResult:
    topic: str
    created: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def create_topics(
    kafka: KafkaSettings,
    bootstrap_servers: str,
    names: Iterable[str],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> list[TopicResult]:
    """Create topics (``configs``: settings per topic name); an existing topic counts as
    success, other errors are reported per topic."""
    admin = AIOKafkaAdminClient(**client_options(kafka, bootstrap_servers))
    await admin.start()
    try:
        wanted = [
            NewTopic(
                name,
                num_partitions=kafka.partitions,
                replication_factor=kafka.replication_factor,
                topic_configs=dict((configs or {}).get(name, {})),
            )
            for name in names
        ]
        response = await admin.create_topics(wanted)
    finally:
        await admin.close()
    results = []
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code == 0:
            results.append(TopicResult(name, created=True))
        elif code == TOPIC_ALREADY_EXISTS:
            results.append(TopicResult(name, created=False))
        else:
            error = message or for_code(code).__name__
            results.append(TopicResult(name, created=False, error=f"{error} (code {code})"))
    return results


async def list_topics(kafka: KafkaSettings, bootstrap_servers: str) -> set[str]:
    admin = AIOKafkaAdminClient(**client_options(kafka, bootstrap_servers))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()
