"""Fixtures for the HTTP stack: a scripted fault server under uvicorn, and client factories."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from hookline.config.models import ProviderSettings
from hookline.http import ApiClient, ErrorMap
from hookline.http.clock import Clock
from hookline.http.registry import BreakerRegistry
from tests.http.fault_server import FaultServer
from tests.support.servers import serve


@pytest_asyncio.fixture(scope="module")
async def fault_server() -> AsyncIterator[tuple[FaultServer, str]]:
    """One fault server per test module, served by real uvicorn on a free port."""
    server = FaultServer()
    async with serve(server.app()) as url:
        yield server, url


@pytest.fixture
def fault(fault_server: tuple[FaultServer, str]) -> FaultServer:
    """The module's fault server with its script, log and tokens cleared."""
    server, _ = fault_server
    server.reset()
    return server


@pytest.fixture
def base_url(fault_server: tuple[FaultServer, str]) -> str:
    return fault_server[1]


def unique(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def settings(base_url: str, **overrides: Any) -> ProviderSettings:
    """Provider settings tuned for tests (fast backoff, lenient breaker), with overrides merged in."""
    data: dict[str, Any] = {
        "base_url": f"{base_url}/api",
        "timeout_seconds": 2.0,
        "connect_timeout_seconds": 1.0,
        "retry": {
            "max_attempts": 3,
            "base_delay_ms": 10,
            "max_delay_ms": 100,
            "deadline_seconds": 10,
        },
        "breaker": {"failure_threshold": 100, "recovery_seconds": 30},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return ProviderSettings.model_validate(data)


@contextlib.asynccontextmanager
async def client_for(
    provider: ProviderSettings,
    *,
    name: str | None = None,
    clock: Clock | None = None,
    errors: ErrorMap | None = None,
    redis_url: str | None = None,
    registry: BreakerRegistry | None = None,
    exact_backoff: bool = False,
) -> AsyncIterator[ApiClient]:
    """An ApiClient on its own breaker registry; ``exact_backoff`` turns jitter off."""
    client = ApiClient(
        name or unique(),
        provider,
        errors=errors,
        clock=clock,
        redis_url=redis_url,
        registry=registry if registry is not None else BreakerRegistry(),
    )
    if exact_backoff:
        client.policy = dataclasses.replace(
            client.policy, jitter=lambda cap: cap, floor_jitter=lambda floor: floor
        )
    try:
        yield client
    finally:
        await client.aclose()
