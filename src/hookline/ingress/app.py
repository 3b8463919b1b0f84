"""Build the ingress ASGI app; the middleware order is visible here and only here."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.admin.tally import OutcomeTally
from hookline.bus.chain import open_index
from hookline.bus.connection import start_producer_waiting
from hookline.bus.publisher import Publisher
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.contracts import openapi
from hookline.ingress.dedup import DedupStore, MemoryDedupStore
from hookline.ingress.dedup_redis import RedisDedupStore
from hookline.ingress.edge import IngressApp, internal_error
from hookline.ingress.health import KafkaReadiness, healthz, readyz
from hookline.ingress.problems import problem
from hookline.ingress.rejections import RejectionRecorder
from hookline.ingress.sources import prepare_sources, watch_sources
from hookline.ingress.webhooks import WebhookEndpoint
from hookline.observability.exposition import metrics_endpoint
from hookline.providers.health import ProviderProbes

log = structlog.get_logger("hookline.ingress")

# How long start-up waits for a first answer from Kafka before serving without it
# (a refused connection ends the wait at once; a silent network does not).
KAFKA_STARTUP_WAIT_SECONDS = 5.0

# Starlette gives a function endpoint GET alone unless told otherwise.
_EVERY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

# Extra routes (admin, openapi) are contributed by other packages through this hook.
RouteFactory = Callable[[HooklineSettings, dict[str, Any]], list[BaseRoute]]
ROUTE_FACTORIES: list[RouteFactory] = []


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {404: "No such route.", 405: "Method not allowed on this route."}.get(
        exc.status_code, str(exc.detail)
    )
    headers = dict(exc.headers or {})
    return problem(exc.status_code, detail, headers or None)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return internal_error(exc)


def openapi_endpoint(document: dict[str, Any]) -> Callable[[Request], Any]:
    async def endpoint(_: Request) -> Response:
        return JSONResponse(document)

    return endpoint


async def _connect(
    publisher: Publisher,
    settings: HooklineSettings,
    bootstrap_servers: str,
    embedded: bool,
    unreachable: asyncio.Event,
) -> None:
    """Start the producer, waiting for Kafka as long as it takes, and hand it to the publisher."""
    try:
        producer = await start_producer_waiting(
            settings.kafka, bootstrap_servers, embedded=embedded, unreachable=unreachable
        )
    except KafkaError as exc:
        log.error("ingress.kafka_failed", error=type(exc).__name__, detail=str(exc))
        raise
    publisher.attach(producer)
    log.info("ingress.kafka_connected", kafka=bootstrap_servers)


def default_dedup(settings: HooklineSettings) -> DedupStore:
    """Redis when ``redis_url`` is set (shared by every replica), else in-process."""
    if settings.redis_url is not None:
        return RedisDedupStore.from_url(settings.redis_url, settings.dedup.window_seconds)
    return MemoryDedupStore(settings.dedup.window_seconds, settings.dedup.max_entries)


def create_app(
    settings: HooklineSettings,
    *,
    bootstrap_servers: str,
    embedded: bool = False,
    dedup: DedupStore | None = None,
) -> IngressApp:
    """The ingress app. Its lifespan owns the Kafka producer; secrets must be resolved already.

    Webhook deliveries enter through :class:`IngressApp`; the Starlette app
    behind it serves everything else (and webhooks under a root path).
    """
    topics = Topics(settings.kafka.topic_prefix)
    sources = prepare_sources(settings.sources, topics)
    tally = OutcomeTally()
    state: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "embedded": embedded,
        "tally": tally,
    }

    async def webhook(request: Request) -> Response:
        endpoint: WebhookEndpoint = state["endpoint"]
        return await endpoint.endpoint(request)

    async def ready(request: Request) -> Response:
        endpoint: Callable[[Request], Any] = state["readyz"]
        response: Response = await endpoint(request)
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        publisher = Publisher(None, timeout=settings.server.publish_timeout_seconds)
        publisher.start()
        unreachable = asyncio.Event()
        connecting = asyncio.create_task(
            _connect(publisher, settings, bootstrap_servers, embedded, unreachable),
            name="hookline-kafka-connect",
        )
        # A broker that answers is attached before the first request; one that does
        # not no longer stops start-up: webhooks get 503 + Retry-After and /readyz
        # 503 until the background retries reach it (no restart needed).
        first_failure = asyncio.create_task(unreachable.wait())
        await asyncio.wait(
            {connecting, first_failure},
            timeout=KAFKA_STARTUP_WAIT_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        first_failure.cancel()
        if connecting.done():
            connecting.result()  # an error that waiting cannot fix stops start-up
        store = dedup if dedup is not None else default_dedup(settings)
        state["publisher"] = publisher
        chain = open_index(settings)
        state["endpoint"] = WebhookEndpoint(
            sources=sources,
            publisher=publisher,
            server=settings.server,
            topics=topics,
            dedup=store,
            chain=chain,
        )
        rejections = RejectionRecorder(
            topic=topics.rejected, server=settings.server, publisher=publisher, tally=tally
        )
        rejections.start()
        state["endpoint"].rejections = rejections
        # Each configured provider's health probe (docs/providers/README.md#health-probes).
        probes = state["probes"] = ProviderProbes.from_settings(settings)
        probes.start()
        state["readyz"] = readyz(KafkaReadiness(publisher), probes)
        # file: secrets follow their files (and SIGHUP); schemes are rebuilt and swapped whole.
        secrets = watch_sources(sources, settings)
        secrets.start()
        # Everything built so far lives as long as the process: move it out of the
        # collector's reach. Otherwise requests in flight promoted to the oldest
        # generation trigger full collections that rescan it all (measured ~40 ms
        # each, ~15 % of the ingress CPU under load).
        gc.collect()
        gc.freeze()
        log.info("ingress.started", sources=sorted(sources), kafka=bootstrap_servers)
        try:
            yield
        finally:
            connecting.cancel()
            await secrets.stop()
            await rejections.stop()
            with contextlib.suppress(asyncio.CancelledError, KafkaError):  # KafkaError: logged
                await connecting
            await probes.stop()
            await publisher.stop()
            if publisher.producer is not None:
                await publisher.producer.stop()
            await store.close()
            await chain.close()

    routes: list[BaseRoute] = [
        # Every method reaches the endpoint: it answers 405 with the source's own Allow
        # (GET only for providers that deliver by GET), as the OpenAPI document says.
        Route("/webhooks/{source}", webhook, methods=_EVERY_METHOD),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint(openapi.document(sources)), methods=["GET"]),
    ]
    for factory in ROUTE_FACTORIES:
        routes.extend(factory(settings, state))
    app = Starlette(
        routes=routes,
        # The edge (IngressApp) answers POST /webhooks/{source} itself and gives
        # every request its id; the route above stays for what it leaves to the
        # router (e.g. an app mounted under a root path).
        exception_handlers={
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    # A trailing slash would be answered 307 with a Location built from the Host
    # header, i.e. a redirect to wherever the client says: answer 404 instead.
    app.router.redirect_slashes = False
    return IngressApp(app, state, settings.server)


from hookline.ingress.admin import breaker_routes  # noqa: E402 - admin routes join through the hook above
from hookline.ingress.admin_dlq import dlq_routes  # noqa: E402
from hookline.ingress.admin_providers import provider_routes  # noqa: E402

ROUTE_FACTORIES.extend([breaker_routes, dlq_routes, provider_routes])
from hookline.console import console_routes  # noqa: E402
from hookline.ingress.admin_api import admin_api_routes  # noqa: E402

ROUTE_FACTORIES.extend([admin_api_routes, console_routes])
