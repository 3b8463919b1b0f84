"""The reservation loop on one machine for tests: three simulators, ingress, worker, broker, redis.

Everything is real and talks over sockets: the OpenTable, Recreation.gov and
Shell Recharge simulators and the ingress under uvicorn on free ports, the
``reservation`` worker on the worker runtime against the session's tansu broker
and redis-server. The simulators require signed requests, OAuth2 bearer tokens
and API keys, so every call also proves the client's auth and signing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hookline.bus.broker import free_port
from hookline.config.check import prepare
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent, make_event
from hookline.providers.recreation_gov.simulator import SIGNING as RG_SIGNING
from hookline.providers.registry import names
from hookline.providers.shell_recharge.simulator import SIGNING as SR_SIGNING
from hookline.services.reservation.worker import create_worker
from hookline.worker.runtime import Worker
from tests.support.kafka import consume_all
from tests.support.loop import ProviderLoop, collecting, simulated_world

PLATFORMS = ("opentable", "recreation_gov", "shell_recharge")
SOURCES = {
    "opentable": "opentable",
    "recreation_gov": "recreation-gov",
    "shell_recharge": "shell-recharge",
}
OT_WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
RG_SECRET = "recgov-callback-secret-0123"
SR_SECRET = "shell-callback-secret-0123"
CREDS = {
    "client_id": "hookline-test",
    "client_secret": "api-secret-0123456789",
    "refresh_token": "rt-0123456789",
    "api_key": "api-key-0123456789",
}

_FAST: dict[str, Any] = {
    "timeout_seconds": 3,
    "connect_timeout_seconds": 1,
    "retry": {"max_attempts": 3, "base_delay_ms": 10, "max_delay_ms": 40, "deadline_seconds": 10},
    "breaker": {"failure_threshold": 20, "recovery_seconds": 2, "half_open_probes": 1},
    "limits": {"requests_per_second": 500},
}


def open_day(ahead: int = 7) -> date:
    """A date every simulator accepts: in the booking windows, not a Monday (OpenTable closes)."""
    day = datetime.now(UTC).date() + timedelta(days=ahead)
    return day + timedelta(days=1) if day.weekday() == 0 else day


def _oauth(base: str, token_path: str) -> dict[str, Any]:
    return {
        "type": "oauth2_refresh_token",
        "token_url": base + token_path,
        "client_id": CREDS["client_id"],
        "client_secret": CREDS["client_secret"],
        "refresh_token": CREDS["refresh_token"],
        "api_key": {"header": "X-API-Key", "value": CREDS["api_key"]},
        "signing": {"enabled": True, "secret": CREDS["client_secret"]},
    }


def raw_settings(
    bootstrap: str, ports: dict[str, int], *, redis_url: str | None, tick_ms: int = 40
) -> dict[str, Any]:
    ingress = f"http://127.0.0.1:{ports['ingress']}"
    sim = {name: f"http://127.0.0.1:{ports[name]}" for name in PLATFORMS}
    sim_common = {
        "tick_ms": tick_ms,
        **CREDS,
        "api_secret": CREDS["client_secret"],
        "require_signature": True,
    }
    return {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"r{uuid.uuid4().hex[:10]}",
            "partitions": 3,
            "request_timeout_ms": 5000,
        },
        "server": {"port": ports["ingress"]},
        "redis_url": redis_url,
        "sources": {
            "opentable": {
                "provider": "opentable",
                "verify": {"scheme": "standard-webhooks", "secrets": [OT_WHSEC]},
            },
            "recreation-gov": {
                "provider": "recreation_gov",
                # The scheme the simulator signs its callbacks with.
                "verify": {**RG_SIGNING, "secrets": [RG_SECRET]},
            },
            "shell-recharge": {
                "provider": "shell_recharge",
                "verify": {**SR_SIGNING, "secrets": [SR_SECRET]},
            },
        },
        "providers": {
            "opentable": {
                "base_url": sim["opentable"] + "/v2",
                "auth": _oauth(sim["opentable"], "/v2/token"),
                **_FAST,
            },
            "recreation_gov": {
                "base_url": sim["recreation_gov"] + "/api/v1",
                "reservations_url": sim["recreation_gov"] + "/api/reservations",
                "availability_url": sim["recreation_gov"] + "/api/camps/availability/campground",
                "permits_url": sim["recreation_gov"] + "/api/permits",
                "account_id": "acct-4711",
                "auth": {
                    "type": "api_key",
                    "header": "apikey",
                    "value": CREDS["api_key"],
                    "signing": {"enabled": True, "secret": CREDS["client_secret"]},
                },
                **_FAST,
            },
            "shell_recharge": {
                "base_url": sim["shell_recharge"] + "/v2",
                "auth": _oauth(sim["shell_recharge"], "/oauth/token"),
                "connector_retry_seconds": 0.05,
                **_FAST,
            },
        },
        "sandbox": {
            "ingress_url": ingress,
            "providers": {
                "opentable": {
                    "port": ports["opentable"],
                    "callback_secret": OT_WHSEC,
                    "tables_per_slot": 2,
                    **sim_common,
                },
                "recreation_gov": {
                    "port": ports["recreation_gov"],
                    "callback_secret": RG_SECRET,
                    "account_id": "acct-4711",
                    **sim_common,
                },
                "shell_recharge": {
                    "port": ports["shell_recharge"],
                    "callback_secret": SR_SECRET,
                    **sim_common,
                },
            },
        },
        "worker": {
            "session_timeout_ms": 1500,
            "heartbeat_interval_ms": 300,
            "commit_interval_ms": 100,
            "shutdown_grace_seconds": 5,
            "retry_tiers": ["1s", "2s"],
            "inline_retries": 2,
            "inline_backoff_ms": 50,
            "idempotency_lease_seconds": 2,
        },
        "observability": {"log_level": "warning"},
    }


# ------------------------------------------------------------------ commands per platform


def create_data(platform: str, n: int = 0, **over: Any) -> dict[str, Any]:
    """A ``reservation.create`` for ``platform`` that its simulator accepts; ``n`` varies the slot."""
    day = open_day()
    if platform == "opentable":
        times = (
            "17:00",
            "17:30",
            "18:00",
            "18:30",
            "19:00",
            "19:30",
            "20:00",
            "20:30",
            "21:00",
            "21:30",
            "22:00",
            "22:30",
        )
        data: dict[str, Any] = {
            "provider": "opentable",
            "venue_id": "rest_001",
            "party_size": 4,
            "date": (day + timedelta(days=7 * (n // len(times)))).isoformat(),
            "time": times[n % len(times)],
            "customer": {
                "name": "John Doe",
                "email": f"john{uuid.uuid4().hex[:6]}@example.com",
                "phone": "+1 (555) 555-0123",
                "special_requests": "Window table",
            },
        }
    elif platform == "recreation_gov":
        start = day + timedelta(days=3 * n)
        data = {
            "provider": "recreation_gov",
            "venue_id": "232447",
            "site_id": "A12",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=2)).isoformat(),
            "customer": {
                "name": "Jane Smith",
                "email": "jane@example.com",
                "phone": "+15555550124",
                "adults": 2,
                "children": 2,
                "equipment_type": "tent",
                "vehicles": 1,
            },
        }
    else:
        start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8, minutes=45 * n)
        data = {
            "provider": "shell_recharge",
            "venue_id": "shell_ev_001",
            "connector_id": "conn_001",
            "start_time": start.isoformat().replace("+00:00", "Z"),
            "duration_minutes": 30,
            "vehicle": {
                "make": "Tesla",
                "model": "Model 3",
                "battery_capacity_kwh": 75,
                "connector_type": "CCS",
                "driver_name": "Bob Johnson",
                "driver_email": "bob@example.com",
                "driver_phone": "+15555550199",
                "target_soc": 80,
            },
        }
    return {**data, **over}


MODIFY = {
    "opentable": {"party_size": 6},
    "recreation_gov": {"end_date": None},
    "shell_recharge": {"duration_minutes": 45},
}
CREATE_PATH = {
    "opentable": "/v2/reservations",
    "recreation_gov": "/api/reservations/",
    "shell_recharge": "/v2/reservations",
}
EVENTS_DOMAIN = {
    "opentable": "reservation",
    "recreation_gov": "reservation",
    "shell_recharge": "charging",
}


def modify_changes(platform: str, created: dict[str, Any]) -> dict[str, Any]:
    if platform == "recreation_gov":
        end = date.fromisoformat(created["end_date"]) + timedelta(days=1)
        return {"end_date": end.isoformat()}
    return dict(MODIFY[platform])


@dataclass
class ReservationLoop(ProviderLoop):
    def command(self, type_: str, data: dict[str, Any], key: str | None = None) -> CloudEvent:
        event = make_event(source="/tests/reservation", type=type_, data=data)
        if key is not None:
            event = event.model_copy(update={"subject": key, "partitionkey": key})
        return event

    async def send(self, *commands: CloudEvent) -> None:
        from tests.worker.support import produce

        await produce(self.bootstrap, self.topics.commands("reservation"), list(commands))

    async def wait(
        self, match: Callable[[CloudEvent], bool], what: str, timeout: float = 20.0
    ) -> CloudEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for event in self.events:
                if match(event):
                    return event
            await asyncio.sleep(0.03)
        raise AssertionError(
            f"no {what} within {timeout}s; saw {[(e.type, e.subject) for e in self.events[-20:]]}"
        )

    async def result(self, command: CloudEvent, timeout: float = 20.0) -> CloudEvent:
        return await self.wait(
            lambda e: (
                e.type.endswith((".command.succeeded", ".command.failed"))
                and isinstance(e.data, dict)
                and e.data.get("command_id") == command.id
            ),
            f"result of {command.type} {command.id}",
            timeout,
        )

    async def booking(self, type_: str, reservation_id: str, timeout: float = 20.0) -> CloudEvent:
        return await self.wait(
            lambda e: e.type == type_ and e.subject == reservation_id,
            f"{type_} for {reservation_id}",
            timeout,
        )

    async def emit(self, platform: str, **order: Any) -> str:
        response = await self.http.post(f"{self.urls[platform]}/_sim/emit", json=order)
        response.raise_for_status()
        return str(response.json()["event_id"])

    async def create_calls(self, platform: str) -> int:
        state = await self.state(platform)
        return int(state["requests"]["by_route"].get(f"POST {CREATE_PATH[platform]}", 0))

    async def dead_letters(self, timeout: float = 3.0) -> list[Any]:
        return await consume_all(self.bootstrap, self.topics.dlq("reservation"), timeout=timeout)

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
async def reservation_loop(
    bootstrap: str, *, redis_url: str | None = None, worker: bool = True, **options: Any
) -> AsyncIterator[ReservationLoop]:
    ports = {name: free_port() for name in ("ingress", *PLATFORMS)}
    raw = raw_settings(bootstrap, ports, redis_url=redis_url, **options)
    settings = prepare(HooklineSettings.model_validate(raw), names())
    loop = ReservationLoop(
        settings, raw, {n: f"http://127.0.0.1:{ports[n]}" for n in ports}, bootstrap
    )
    async with (
        simulated_world(settings, bootstrap, ports, PLATFORMS),
        collecting(
            bootstrap,
            [loop.topics.events("reservation"), loop.topics.events("charging")],
            loop.events,
        ),
    ):
        try:
            if worker:
                await loop.start_worker()
            yield loop
        finally:
            if loop.worker is not None:
                await loop.worker.stop()
            await loop.http.aclose()
