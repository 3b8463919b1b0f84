"""Kafka client settings from configuration: bootstrap, security, idempotence."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    UnknownError,
    UnsupportedVersionError,
)

from hookline.config.models import KafkaSettings
from hookline.errors import ConfigError

log = structlog.get_logger("hookline.bus")


def client_options(kafka: KafkaSettings, bootstrap_servers: str) -> dict[str, Any]:
    """Options every aiokafka client (producer, consumer, admin) shares."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
        "request_timeout_ms": kafka.request_timeout_ms,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get() if kafka.sasl_password else None
    return options


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    # A missing or unreadable file is a configuration error, said in one line at
    # start-up, not a traceback from deep inside the first connection attempt.
    try:
        context = ssl.create_default_context(cafile=kafka.ssl_cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"kafka.ssl_cafile: cannot load {kafka.ssl_cafile}: {_reason(exc)}"
        ) from exc
    if kafka.ssl_certfile:
        try:
            context.load_cert_chain(kafka.ssl_certfile, kafka.ssl_keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"kafka.ssl_certfile/ssl_keyfile: cannot load {kafka.ssl_certfile}: {_reason(exc)}"
            ) from exc
    return context


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def producer_options(
    kafka: KafkaSettings, bootstrap_servers: str, idempotent: bool
) -> dict[str, Any]:
    # acks and idempotence are always explicit: aiokafka's default acks=1 can lose
    # acknowledged writes when a leader fails.
    options = client_options(kafka, bootstrap_servers)
    options.update(
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=kafka.linger_ms,
        max_batch_size=kafka.max_batch_bytes,
        max_request_size=max(kafka.max_batch_bytes, 1_048_576) * 2,
        compression_type=None if kafka.compression == "none" else kafka.compression,
    )
    return options


async def start_producer(
    kafka: KafkaSettings, bootstrap_servers: str, *, embedded: bool = False
) -> AIOKafkaProducer:
    """Start a producer with ``acks=all``; idempotent unless the broker cannot do it.

    ``idempotence: auto`` is off for the embedded broker and on for a real Kafka.
    A broker that rejects InitProducerId under ``auto`` is logged loudly and the
    producer falls back; ``on`` never falls back.
    """
    wanted = kafka.idempotence == "on" or (kafka.idempotence == "auto" and not embedded)
    producer = AIOKafkaProducer(**producer_options(kafka, bootstrap_servers, wanted))
    try:
        await producer.start()
        return producer
    except (UnknownError, UnsupportedVersionError) as exc:
        await producer.stop()
        if kafka.idempotence == "on" or not wanted:
            raise
        log.warning(
            "kafka.idempotence_unsupported",
            detail="broker rejected InitProducerId; producing without idempotence",
            error=type(exc).__name__,
        )
    except KafkaError:
        await producer.stop()
        raise
    producer = AIOKafkaProducer(**producer_options(kafka, bootstrap_servers, False))
    await producer.start()
    return producer


def retriable(exc: BaseException) -> bool:
    """Whether waiting could help: no broker answers yet, or it is not ready."""
    return isinstance(exc, KafkaConnectionError) or (
        isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
    )


async def start_producer_waiting(
    kafka: KafkaSettings,
    bootstrap_servers: str,
    *,
    embedded: bool = False,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
    unreachable: asyncio.Event | None = None,
) -> AIOKafkaProducer:
    """:func:`start_producer`, retried with backoff for as long as Kafka does not answer.

    aiokafka's ``start()`` raises when no broker answers, so anything that must
    come up before Kafka does (the ingress, workers) waits here instead of
    exiting. Errors that waiting cannot fix (a broker refusing idempotence
    under ``idempotence: on``, authentication) are raised. ``unreachable`` is
    set when the first attempt failed, for a caller that stops waiting then.
    """
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            producer = await start_producer(kafka, bootstrap_servers, embedded=embedded)
        except KafkaError as exc:
            if not retriable(exc):
                raise
            if unreachable is not None:
                unreachable.set()
            log.warning(
                "kafka.unreachable",
                servers=bootstrap_servers,
                attempt=attempt,
                retry_in_seconds=delay,
                error=type(exc).__name__,
                detail="waiting for Kafka",
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if attempt > 1:
            log.info("kafka.connected", servers=bootstrap_servers, attempts=attempt)
        return producer
