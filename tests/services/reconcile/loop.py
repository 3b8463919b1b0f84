"""The SMS loop plus the real ``reconcile`` worker, sharing one Redis (open entities, dedup)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from hookline.bus.broker import free_port
from hookline.config.check import prepare
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.observability.metrics import REGISTRY
from hookline.providers.registry import names
from hookline.reactor.worker import create_worker as create_reactor
from hookline.services.colt.worker import create_worker as create_colt
from hookline.services.reconcile.worker import create_worker as create_reconcile
from hookline.services.reservation.worker import create_worker as create_reservation
from hookline.worker.runtime import Worker
from tests.providers.colt.conftest import colt_settings
from tests.services.reservation.loop import PLATFORMS as RESERVATION_PLATFORMS
from tests.services.reservation.loop import SOURCES
from tests.services.reservation.loop import raw_settings as reservation_settings
from tests.services.sms.loop import SIMS, SmsLoop, raw_settings
from tests.support.loop import collecting, simulated_world

# Short enough that the tests take seconds, long enough that a callback that is
# not held back arrives first on a loaded machine.
FAST_RECONCILE: dict[str, Any] = {
    "interval_seconds": 0.5,
    "providers": {
        name: {"after_seconds": 1.5, "give_up_after_seconds": 600}
        for name in (
            "twilio",
            "every8d",
            "mitake",
            "colt",
            "shell_recharge",
            "opentable",
            "recreation_gov",
        )
    },
}


ADMIN_TOKEN = "reconcile-admin-token-0123456789"


async def fresh_redis(url: str) -> str:
    """A Redis database of its own for this test: the simulators number messages from the
    same first id each time, so another test's dedup keys would make callbacks duplicates."""
    db_url = url.rsplit("/", 1)[0] + "/9"
    client: Redis = Redis.from_url(db_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return db_url


@dataclass
class ReconcileLoop(SmsLoop):
    reconciler: Worker | None = None

    async def hold_callbacks(self, sim: str, **hold: Any) -> None:
        response = await self.http.post(f"{self.urls[sim]}/_sim/callbacks", json=hold)
        response.raise_for_status()

    def count(self, type_: str, subject: str) -> int:
        return sum(1 for e in self.events if e.type == type_ and e.subject == subject)

    def events_of(self, subject: str) -> list[CloudEvent]:
        return [e for e in self.events if e.subject == subject]

    async def start_reconciler(self) -> Worker:
        worker = Worker(
            self.settings,
            await create_reconcile(self.settings),
            bootstrap_servers=self.bootstrap,
            embedded=True,
        )
        await worker.start()
        self.reconciler = worker
        return worker

    @staticmethod
    def reconciled(provider: str, outcome: str = "published") -> float:
        """Events the reconciler published (or found duplicate) for ``provider`` so far."""
        value = REGISTRY.get_sample_value(
            "hookline_reconcile_events_total", {"provider": provider, "outcome": outcome}
        )
        return value or 0.0

    async def open_entities(self, provider: str) -> dict[str, Any]:
        response = await self.http.get(
            f"{self.urls['ingress']}/admin/reconcile/open",
            params={"provider": provider},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def settle(self, seconds: float) -> None:
        """Give a wrong second event time to show up."""
        await asyncio.sleep(seconds)


def _with_colt(raw: dict[str, Any], bootstrap: str, ports: dict[str, int]) -> None:
    """Add Colt (source, provider, simulator) as tests/providers/colt configures it."""
    colt = colt_settings(bootstrap, raw["redis_url"], ports["colt"], ports["ingress"])
    raw["sources"]["colt"] = colt["sources"]["colt"]
    raw["providers"]["colt"] = colt["providers"]["colt"]
    raw["sandbox"]["providers"]["colt"] = colt["sandbox"]["providers"]["colt"]


def _with_charging(raw: dict[str, Any], bootstrap: str, ports: dict[str, int]) -> None:
    """Add Shell Recharge (source, provider, simulator) as tests/services/reservation configures it."""
    every = {name: ports["shell_recharge"] for name in RESERVATION_PLATFORMS}
    shell = reservation_settings(bootstrap, {**every, "ingress": ports["ingress"]}, redis_url=None)
    raw["sources"]["shell-recharge"] = shell["sources"]["shell-recharge"]
    raw["providers"]["shell_recharge"] = shell["providers"]["shell_recharge"]
    raw["sandbox"]["providers"]["shell_recharge"] = shell["sandbox"]["providers"]["shell_recharge"]


BOOKING_PLATFORMS = ("opentable", "recreation_gov")


def _with_bookings(raw: dict[str, Any], bootstrap: str, ports: dict[str, int]) -> None:
    """Add OpenTable and Recreation.gov (sources, providers, simulators) as tests/services/reservation does."""
    every = {name: ports.get(name, ports["opentable"]) for name in RESERVATION_PLATFORMS}
    booking = reservation_settings(
        bootstrap, {**every, "ingress": ports["ingress"]}, redis_url=None
    )
    for name in BOOKING_PLATFORMS:
        source = SOURCES[name]
        raw["sources"][source] = booking["sources"][source]
        raw["providers"][name] = booking["providers"][name]
        raw["sandbox"]["providers"][name] = booking["sandbox"]["providers"][name]


@contextlib.asynccontextmanager
async def reconcile_loop(
    bootstrap: str,
    redis_url: str,
    *,
    reconcile: dict[str, Any] | None = None,
    colt: bool = False,
    charging: bool = False,
    bookings: bool = False,
    reconciler: bool = True,
    redis: bool = True,
    **options: Any,
) -> AsyncIterator[ReconcileLoop]:
    """The SMS loop and the reconcile worker; with ``colt``, also Colt's simulator and
    the colt and reactor workers (an order's completion becomes an SMS); with ``charging``
    Shell Recharge, with ``bookings`` OpenTable and Recreation.gov, and the reservation
    and reactor workers (a cancellation becomes an SMS). Without ``redis``, the one-machine
    set-up: no shared Redis, the open entities in the SQLite file."""
    sims = (
        *SIMS,
        *(["colt"] if colt else []),
        *(["shell_recharge"] if charging else []),
        *(BOOKING_PLATFORMS if bookings else []),
    )
    ports = {name: free_port() for name in ("ingress", *sims)}
    shared = await fresh_redis(redis_url) if redis else None
    raw = raw_settings(bootstrap, ports, redis_url=shared, **options)
    if colt:
        _with_colt(raw, bootstrap, ports)
    if charging:
        _with_charging(raw, bootstrap, ports)
    if bookings:
        _with_bookings(raw, bootstrap, ports)
    raw["services"]["reconcile"] = reconcile if reconcile is not None else FAST_RECONCILE
    raw["admin_token"] = ADMIN_TOKEN
    settings = prepare(HooklineSettings.model_validate(raw), names())
    urls = {n: f"http://127.0.0.1:{ports[n]}" for n in ports}
    loop = ReconcileLoop(settings, raw, urls, bootstrap)
    domains = [
        "sms",
        *(["colt"] if colt else []),
        *(["charging", "reservation"] if charging else []),
        *(["reservation"] if bookings and not charging else []),
    ]
    factories = [
        *([create_colt] if colt else []),
        *([create_reservation] if charging or bookings else []),
        *([create_reactor] if colt or charging or bookings else []),
    ]
    others: list[Worker] = []
    async with (
        simulated_world(settings, bootstrap, ports, sims),
        collecting(bootstrap, [loop.topics.events(d) for d in domains], loop.events),
    ):
        try:
            await loop.start_worker()
            if reconciler:
                await loop.start_reconciler()
            if factories:
                for factory in factories:
                    worker = Worker(
                        settings,
                        await factory(settings),
                        bootstrap_servers=bootstrap,
                        embedded=True,
                    )
                    await worker.start()
                    others.append(worker)
            yield loop
        finally:
            for worker in (*others, loop.reconciler, loop.worker):
                if worker is not None:
                    await worker.stop()
            await loop.http.aclose()
