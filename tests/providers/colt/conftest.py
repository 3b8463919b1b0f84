"""The Colt loop for tests: simulator and ingress under uvicorn, real broker and redis-server.

``colt_stack`` starts, per test, a Colt simulator whose signed notifications go to
a real ingress, both on free ports, with settings whose ``providers.colt`` points
at the simulator. Workers are started by the tests (in-process or as processes).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.bus.topics import Topics, all_topics
from hookline.config.check import prepare
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent, make_event
from hookline.ingress.app import create_app
from hookline.providers.colt.simulator import create_app as create_simulator
from hookline.providers.registry import names
from hookline.sandbox import SimulatorLayer
from tests.support.kafka import consume_all, create_topics
from tests.support.servers import RedisServer, serve
from tests.worker.support import produce

WEBHOOK_SECRET = "colt-test-webhook-secret-5f1e"
CLIENT_ID = "hookline-tests"
CLIENT_SECRET = "colt-test-client-secret"


def colt_settings(
    bootstrap: str, redis_url: str, sim_port: int, ingress_port: int, **overrides: Any
) -> dict[str, Any]:
    sim_url = f"http://127.0.0.1:{sim_port}"
    worker = {
        "session_timeout_ms": 1500,
        "heartbeat_interval_ms": 300,
        "commit_interval_ms": 100,
        "shutdown_grace_seconds": 5,
        "revocation_grace_seconds": 2,
        "retry_tiers": ["1s", "3s"],
        "inline_retries": 2,
        "inline_backoff_ms": 10,
        "idempotency_lease_seconds": 2,
        **overrides.pop("worker", {}),
    }
    provider = {
        "base_url": f"{sim_url}/ebonding/v5",
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": f"{sim_url}/auth/token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "ebonding.read ebonding.write",
            "refresh_buffer_seconds": 60,
        },
        "timeout_seconds": 5,
        # The guide's table, scaled down 100x so tests stay fast.
        "retry": {
            "max_attempts": 3,
            "inline_max_delay_ms": 2000,
            "status_delays_ms": {0: 50, 429: 600, 502: 100, 503: 300, 504: 100},
        },
        "breaker": {"failure_threshold": 50},
        # The ingress's health probe would add token fetches and reads that these
        # tests count at the simulator (tests/ingress/test_provider_health.py probes).
        "health": {"enabled": False},
        **overrides.pop("provider", {}),
    }
    return {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"c{uuid.uuid4().hex[:10]}",
            "partitions": 3,
            "request_timeout_ms": 5000,
            "idempotence": "off",
        },
        "redis_url": redis_url,
        "server": {"port": ingress_port},
        "sources": {
            "colt": {
                "provider": "colt",
                "verify": {
                    "scheme": "hmac",
                    "header": "X-Colt-Signature",
                    "algorithm": "sha256",
                    "encoding": "hex",
                    "prefix": "",
                    "timestamp_header": "X-Colt-Timestamp",
                    "secrets": [WEBHOOK_SECRET],
                    "tolerance_seconds": 300,
                },
            }
        },
        "providers": {"colt": provider},
        "worker": worker,
        "sandbox": {
            "ingress_url": f"http://127.0.0.1:{ingress_port}",
            "providers": {
                "colt": {
                    "port": sim_port,
                    "tick_ms": overrides.pop("tick_ms", 60_000),
                    "token_ttl_seconds": overrides.pop("token_ttl_seconds", 3600),
                    "callback_secret": WEBHOOK_SECRET,
                    **overrides.pop("sandbox_extra", {}),
                }
            },
        },
        **overrides,
    }


@dataclass
class ColtStack:
    settings: HooklineSettings
    sim_url: str
    ingress_url: str
    sim_app: SimulatorLayer
    http: httpx.AsyncClient
    raw_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        servers = self.settings.kafka.bootstrap_servers
        assert servers is not None
        return servers

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.kafka.topic_prefix)

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = (await self.http.get(f"{self.sim_url}/_sim/state")).json()
        return result

    async def fault(self, **spec: Any) -> None:
        response = await self.http.post(f"{self.sim_url}/_sim/faults", json=spec)
        assert response.status_code == 201, response.text

    async def emit(self, **order: Any) -> str:
        response = await self.http.post(f"{self.sim_url}/_sim/emit", json=order)
        assert response.status_code == 202, response.text
        event_id: str = response.json()["event_id"]
        return event_id

    async def command(
        self, type_: str, data: dict[str, Any], subject: str | None = None
    ) -> CloudEvent:
        """Publish a command on commands.colt as a downstream service would."""
        event = make_event(source="/tests/downstream", type=type_, subject=subject, data=data)
        await produce(self.bootstrap, self.topics.commands("colt"), [event])
        return event

    async def events(self, topic: str | None = None, timeout: float = 1.0) -> list[CloudEvent]:
        records = await consume_all(
            self.bootstrap, topic or self.topics.events("colt"), timeout=timeout
        )
        return [CloudEvent.from_json(r.value) for r in records]

    async def wait_for(
        self,
        check: Callable[[list[CloudEvent]], bool],
        topic: str | None = None,
        timeout: float = 30.0,
    ) -> list[CloudEvent]:
        """Read the topic again until ``check`` holds for its events."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            events = await self.events(topic, timeout=0.5)
            if check(events):
                return events
            if loop.time() > deadline:
                kinds = [(e.type, e.subject) for e in events]
                raise AssertionError(f"condition not met within {timeout}s; events: {kinds}")
            await asyncio.sleep(0.2)


StartColt = Callable[..., AbstractAsyncContextManager[ColtStack]]


@pytest.fixture
def start_colt(broker: EmbeddedBroker, redis_server: RedisServer) -> StartColt:
    """Start simulator + ingress for one test; keyword arguments override settings.

    ``wrap`` puts an ASGI wrapper around the simulator (tests that need to time a crash).
    """

    @asynccontextmanager
    async def start(
        wrap: Callable[[Any], Any] | None = None, **overrides: Any
    ) -> AsyncIterator[ColtStack]:
        sim_port, ingress_port = free_port(), free_port()
        raw = colt_settings(
            broker.bootstrap_servers, redis_server.url, sim_port, ingress_port, **overrides
        )
        settings = prepare(HooklineSettings.model_validate(raw), names())
        sim_app = create_simulator(settings, settings.sandbox.providers["colt"])
        await create_topics(
            broker.bootstrap_servers, all_topics(settings, extra_domains=settings.sources), 3
        )
        ingress = create_app(settings, bootstrap_servers=broker.bootstrap_servers, embedded=True)
        async with (
            serve(ingress, port=ingress_port) as ingress_url,
            serve(wrap(sim_app) if wrap else sim_app, port=sim_port) as sim_url,
            httpx.AsyncClient(timeout=10) as http,
        ):
            yield ColtStack(settings, sim_url, ingress_url, sim_app, http, raw)

    return start


@pytest.fixture
async def colt(start_colt: StartColt) -> AsyncIterator[ColtStack]:
    """Simulator + ingress with default test settings."""
    async with start_colt() as stack:
        yield stack
