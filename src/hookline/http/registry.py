"""Which circuit breakers exist, for ``GET /admin/breakers`` and the reset endpoint.

Each :class:`~hookline.http.client.ApiClient` registers its breaker in
:data:`BREAKERS` when it is created and removes it when closed. With
``redis_url`` set, breaker state lives in Redis, so the admin endpoints can also
read and reset the breaker of a configured provider whose client runs in
another process (a worker replica).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from redis.asyncio import Redis

from hookline.config.models import ProviderSettings
from hookline.http.breaker import CircuitBreaker, Snapshot
from hookline.http.breaker_redis import RedisBreakerStore

REDIS_PREFIX = "hookline"


class BreakerRegistry:
    """Breakers by provider name, in this process."""

    def __init__(self) -> None:
        self._breakers: dict[str, CircuitBreaker] = {}

    def register(self, breaker: CircuitBreaker) -> None:
        self._breakers[breaker.name] = breaker

    def unregister(self, breaker: CircuitBreaker) -> None:
        if self._breakers.get(breaker.name) is breaker:
            del self._breakers[breaker.name]

    def get(self, name: str) -> CircuitBreaker | None:
        return self._breakers.get(name)

    def names(self) -> list[str]:
        return sorted(self._breakers)

    async def snapshots(
        self,
        providers: Mapping[str, ProviderSettings] | None = None,
        redis_url: str | None = None,
        *,
        prefix: str = REDIS_PREFIX,
    ) -> list[Snapshot]:
        """Every registered breaker, plus configured providers' shared breakers when Redis is set."""
        result = {name: await breaker.snapshot() for name, breaker in self._breakers.items()}
        missing = _unregistered(providers, result)
        if redis_url and missing:
            async with Redis.from_url(redis_url) as redis:
                for name in missing:
                    assert providers is not None
                    store = RedisBreakerStore(redis, name, providers[name].breaker, prefix=prefix)
                    result[name] = await CircuitBreaker(
                        name, providers[name].breaker, store
                    ).snapshot()
        return [result[name] for name in sorted(result)]

    async def reset(
        self,
        name: str,
        providers: Mapping[str, ProviderSettings] | None = None,
        redis_url: str | None = None,
        *,
        prefix: str = REDIS_PREFIX,
    ) -> Snapshot | None:
        """Close a breaker; None when no breaker of that name is known."""
        breaker = self._breakers.get(name)
        if breaker is not None:
            await breaker.reset()
            return await breaker.snapshot()
        if redis_url and providers is not None and name in providers:
            async with Redis.from_url(redis_url) as redis:
                store = RedisBreakerStore(redis, name, providers[name].breaker, prefix=prefix)
                shared = CircuitBreaker(name, providers[name].breaker, store)
                await shared.reset()
                return await shared.snapshot()
        return None


def _unregistered(
    providers: Mapping[str, ProviderSettings] | None, known: Iterable[str]
) -> list[str]:
    if not providers:
        return []
    seen = set(known)
    return [name for name in providers if name not in seen]


BREAKERS = BreakerRegistry()
