"""A provider that rotates refresh tokens (and refuses the old ones) keeps working across
replicas and restarts when the rotated token is kept in Redis; without Redis a restart breaks."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookline.bus.broker import free_port
from hookline.config.models import HooklineSettings, ProviderSettings
from hookline.http.client import ApiClient
from hookline.http.errors import AuthFailed
from hookline.providers._reservation.clients import with_defaults
from hookline.providers.opentable.client import CLIENT_DEFAULTS, ERRORS, OpenTableClient
from hookline.providers.simulators import SIMULATORS
from tests.services.reservation.loop import PLATFORMS, raw_settings
from tests.support.servers import serve


@contextlib.asynccontextmanager
async def rotating_opentable() -> AsyncIterator[tuple[ProviderSettings, str]]:
    ports = {name: free_port() for name in ("ingress", *PLATFORMS)}
    raw = raw_settings("127.0.0.1:1", ports, redis_url=None)
    sim = {
        k: v for k, v in raw["sandbox"]["providers"]["opentable"].items() if k != "callback_secret"
    }
    raw["sandbox"]["providers"]["opentable"] = {**sim, "rotate_refresh_tokens": True}
    settings = HooklineSettings.model_validate(raw)
    app = SIMULATORS["opentable"](settings, settings.sandbox.providers["opentable"])
    async with serve(app, port=ports["opentable"]) as url:
        # No GET cache: every call here must reach the API, token and all.
        yield (
            with_defaults(CLIENT_DEFAULTS, settings.providers["opentable"]).model_copy(
                update={"cache": {}}
            ),
            url,
        )


@contextlib.asynccontextmanager
async def replica(
    provider: ProviderSettings, **options: Any
) -> AsyncIterator[tuple[ApiClient, OpenTableClient]]:
    api = ApiClient("opentable", provider, errors=ERRORS, **options)
    try:
        yield api, OpenTableClient(api)
    finally:
        await api.aclose()


async def tokens(url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        state: dict[str, int] = (await http.get(f"{url}/_sim/state")).json()["tokens"]
        return state


async def test_rotated_refresh_token_survives_restarts_and_is_shared_by_replicas(
    redis_server,
) -> None:
    """Each refresh starts from the newest token any replica saved: none is ever refused."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    async with rotating_opentable() as (provider, url):
        async with replica(provider, redis_url=redis_server.url, redis_prefix=prefix) as (a_api, a):
            await a.search()  # first token: the configured refresh token, rotated by the answer
            async with replica(provider, redis_url=redis_server.url, redis_prefix=prefix) as (
                _b_api,
                b,
            ):
                await (
                    b.search()
                )  # starts from A's rotated token, not the configured (now refused) one
            assert a_api.tokens is not None
            a_api.tokens.invalidate()
            await a.search()  # A refreshes again: from B's rotation, found in Redis
        # A "restart": a new process knows only the configured token.
        async with replica(provider, redis_url=redis_server.url, redis_prefix=prefix) as (
            _c_api,
            c,
        ):
            await c.search()
        assert await tokens(url) == {"issued": 4, "refused": 0, "active": 4}


async def test_without_a_store_a_restart_after_rotation_is_refused_clearly() -> None:
    """The failure the store prevents: the configured token was rotated away, invalid_grant."""
    async with rotating_opentable() as (provider, url):
        async with replica(provider) as (_api, first):
            await first.search()
        async with replica(provider) as (_api, restarted):
            with pytest.raises(AuthFailed, match="invalid_grant"):
                await restarted.search()
        assert (await tokens(url))["refused"] == 1


async def test_replicas_refreshing_at_once_both_end_with_a_token(redis_server) -> None:
    """Two replicas present the same refresh token at once: the provider rotates on the first and
    refuses the second, which then takes the rotation the first saved and succeeds."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as stack:
        provider, _ = await stack.enter_async_context(rotating_opentable())
        a_api, a = await stack.enter_async_context(
            replica(provider, redis_url=redis_server.url, redis_prefix=prefix)
        )
        b_api, b = await stack.enter_async_context(
            replica(provider, redis_url=redis_server.url, redis_prefix=prefix)
        )
        assert a_api.tokens is not None and b_api.tokens is not None
        for _ in range(3):
            a_api.tokens.invalidate()
            b_api.tokens.invalidate()
            await asyncio.gather(a.search(), b.search())


async def test_an_unreachable_store_degrades_to_the_in_memory_token() -> None:
    """Redis down (nothing listens on its port): refreshes still work, with the rotated token
    kept in memory, and nothing is refused."""
    from redis.asyncio import Redis

    from hookline.http.oauth import RefreshTokenGrant, TokenSource
    from hookline.http.retry import RetryPolicy
    from hookline.http.token_store import RedisRefreshTokenStore
    from tests.services.reservation.loop import CREDS

    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    async with rotating_opentable() as (provider, url), httpx.AsyncClient(timeout=5) as http:
        grant = RefreshTokenGrant(
            f"{url}/v2/token",
            CREDS["refresh_token"],
            CREDS["client_id"],
            CREDS["client_secret"],
            store=RedisRefreshTokenStore(redis, "opentable", prefix="t"),
            provider="opentable",
            newer_wait=0.2,
        )
        source = TokenSource(
            "opentable", grant, http=http, policy=RetryPolicy.from_settings(provider.retry)
        )
        first = await source.token()
        source.invalidate()
        second = await source.token()  # from the rotated token the store could not keep
        assert first != second
        assert await tokens(url) == {"issued": 2, "refused": 0, "active": 2}
    await redis.aclose()
