"""The whole SMS loop on one machine for tests: simulators, ingress, worker, broker, redis.

Everything is real and talks over sockets: the three simulators and the ingress
under uvicorn on free ports, the sms worker on the worker runtime against the
session's tansu broker, and (when given) the session's redis-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from hookline.bus.broker import free_port
from hookline.config.check import prepare
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent, make_event
from hookline.providers.registry import names
from hookline.services.sms.worker import create_worker
from hookline.worker.runtime import Worker
from tests.support.loop import ProviderLoop, collecting, simulated_world

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-0123456789"
EVERY8D_TOKEN = "every8d-callback-token-0123"
MITAKE_TOKEN = "mitake-callback-token-0123"
SIMS = ("twilio", "every8d", "mitake")

_FAST = {
    "timeout_seconds": 2,
    "connect_timeout_seconds": 1,
    "retry": {"max_attempts": 3, "base_delay_ms": 10, "max_delay_ms": 40, "deadline_seconds": 10},
    # Recovery long enough that a slow machine does not reach half-open (and let a probe
    # through) while a test still checks that the open breaker skips the provider.
    "breaker": {"failure_threshold": 3, "recovery_seconds": 4, "half_open_probes": 1},
    # The ingress's health probe would add calls the simulators count (it has its
    # own tests in tests/ingress/test_provider_health.py).
    "health": {"enabled": False},
}


def raw_settings(
    bootstrap: str,
    ports: dict[str, int],
    *,
    redis_url: str | None = None,
    tick_ms: int = 50,
    sms: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ingress = f"http://127.0.0.1:{ports['ingress']}"
    sim = {name: f"http://127.0.0.1:{ports[name]}" for name in SIMS}
    return {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"s{uuid.uuid4().hex[:10]}",
            "partitions": 3,
            "request_timeout_ms": 5000,
        },
        "server": {"port": ports["ingress"], "public_base_url": ingress},
        "redis_url": redis_url,
        "sources": {
            "sms-twilio": {
                "provider": "twilio",
                "verify": {"scheme": "twilio", "secrets": [TWILIO_TOKEN]},
            },
            "every8d-dlr": {
                "provider": "every8d",
                "verify": {"scheme": "token", "query_param": "token", "secrets": [EVERY8D_TOKEN]},
            },
            "mitake-dlr": {
                "provider": "mitake",
                "verify": {"scheme": "token", "query_param": "token", "secrets": [MITAKE_TOKEN]},
            },
        },
        "providers": {
            "twilio": {
                "base_url": sim["twilio"],
                "sender": "+15017122661",
                "auth": {"type": "basic", "username": TWILIO_SID, "password": TWILIO_TOKEN},
                **_FAST,
            },
            "every8d": {
                "base_url": sim["every8d"],
                "auth": {
                    "type": "form_credentials",
                    "username": "e8d-user",
                    "password": "e8d-pass",
                },
                **_FAST,
            },
            "mitake": {
                "base_url": sim["mitake"],
                "callback_token": MITAKE_TOKEN,
                "auth": {
                    "type": "form_credentials",
                    "username": "mtk-user",
                    "password": "mtk-pass",
                },
                **_FAST,
            },
        },
        "services": {
            "sms": {
                "cost_per_segment": {"every8d": 0.8, "mitake": 0.9, "twilio": 2.5},
                # Off unless a test asks: the checks would add calls the simulators count.
                "health_interval_seconds": 0,
                **(sms or {}),
            }
        },
        "sandbox": {
            "ingress_url": ingress,
            "providers": {
                "twilio": {
                    "port": ports["twilio"],
                    "tick_ms": tick_ms,
                    "callback_secret": TWILIO_TOKEN,
                },
                "every8d": {
                    "port": ports["every8d"],
                    "tick_ms": tick_ms,
                    "callback_secret": EVERY8D_TOKEN,
                    "uid": "e8d-user",
                    "pwd": "e8d-pass",
                },
                "mitake": {
                    "port": ports["mitake"],
                    "tick_ms": tick_ms,
                    "callback_secret": MITAKE_TOKEN,
                    "username": "mtk-user",
                    "password": "mtk-pass",
                },
            },
        },
        "worker": {
            "session_timeout_ms": 1500,
            "heartbeat_interval_ms": 300,
            "commit_interval_ms": 100,
            "shutdown_grace_seconds": 5,
            "revocation_grace_seconds": 2,
            "retry_tiers": ["1s", "2s"],
            "inline_retries": 2,
            "inline_backoff_ms": 50,
            "idempotency_lease_seconds": 3,
        },
    }


@dataclass
class SmsLoop(ProviderLoop):
    def command(self, to: str, body: str = "Your order shipped.", **extra: Any) -> CloudEvent:
        return make_event(
            source="/tests/sms", type="sms.send", data={"to": to, "body": body, **extra}
        )

    async def send(self, *commands: CloudEvent) -> None:
        from tests.worker.support import produce

        await produce(self.bootstrap, self.topics.commands("sms"), list(commands))

    async def wait_event(self, type_: str, subject: str, timeout: float = 20.0) -> CloudEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for event in self.events:
                if event.type == type_ and event.subject == subject:
                    return event
            await asyncio.sleep(0.05)
        seen = [(e.type, e.provider) for e in self.events if e.subject == subject]
        raise AssertionError(f"no {type_} for {subject} within {timeout}s; saw {seen}")

    async def force(self, sim: str, number: str, outcome: str) -> None:
        response = await self.http.post(
            f"{self.urls[sim]}/_sim/sms/outcomes", json={"number": number, "outcome": outcome}
        )
        response.raise_for_status()

    async def dead_letters(self, expect: int, timeout: float = 15.0) -> list[Any]:
        from tests.support.kafka import consume_all

        return await consume_all(
            self.bootstrap, self.topics.dlq("sms"), expect=expect, timeout=timeout
        )

    async def start_worker(self) -> Worker:
        worker = Worker(
            self.settings,
            await create_worker(self.settings),
            bootstrap_servers=self.bootstrap,
            embedded=True,
        )
        await worker.start()
        self.worker = worker
        return worker


@contextlib.asynccontextmanager
async def sms_loop(
    bootstrap: str,
    *,
    redis_url: str | None = None,
    worker: bool = True,
    tweak: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> AsyncIterator[SmsLoop]:
    ports = {name: free_port() for name in ("ingress", *SIMS)}
    raw = raw_settings(bootstrap, ports, redis_url=redis_url, **options)
    if tweak is not None:
        tweak(raw)  # a test's own changes to the raw configuration
    settings = prepare(HooklineSettings.model_validate(raw), names())
    loop = SmsLoop(settings, raw, {n: f"http://127.0.0.1:{ports[n]}" for n in ports}, bootstrap)
    async with (
        simulated_world(settings, bootstrap, ports, SIMS),
        collecting(bootstrap, [loop.topics.events("sms")], loop.events),
    ):
        try:
            if worker:
                await loop.start_worker()
            yield loop
        finally:
            if loop.worker is not None:
                await loop.worker.stop()
            await loop.http.aclose()
