"""Dedup shared by every replica through Redis (``redis_url``).

One key per delivery, ``{prefix}{source}:{event id}``:

* ``claim``: ``SET key pending:<token> NX PX lease``. The winner publishes;
  everyone else polls the key until it turns ``done:<event id>`` (duplicate)
  or disappears (the winner's publish failed: the next claim wins and
  publishes for real). The lease is the publish timeout plus a margin, so a
  replica that dies mid-publish blocks its delivery only that long.
* ``complete``: ``SET key done:<event id> EX window`` once Kafka acknowledged,
  followed by a newline and the delivery's receipt (where its events are
  stored, :func:`hookline.ingress.receipts.encode`) when there is one.
* ``release``: delete the key, but only if it still holds the token the
  claim returned (a compare-and-delete script), so a late release never
  frees someone else's claim. The token travels with the request, so the
  store keeps nothing per claim in the process.

Redis unreachable during ``claim`` raises :class:`DedupUnavailable` (503 and
the provider retries): we do not accept what we cannot de-duplicate. After
a publish was acknowledged, a failing ``complete`` is logged and the 2xx
stands: the event is safe in Kafka, and at worst a retry publishes it again
(at-least-once), which is better than asking the provider to retry.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from hookline.ingress.dedup import Claim, DedupUnavailable
from hookline.ingress.receipts import Receipt, decode, encode

log = structlog.get_logger("hookline.ingress.dedup")

_DONE = b"done:"
_PENDING = "pending:"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisDedupStore:
    """The :class:`~hookline.ingress.dedup.DedupStore` contract on a shared Redis."""

    def __init__(
        self,
        client: Redis,
        window_seconds: float,
        *,
        prefix: str = "hookline:dedup:",
        lease_margin_seconds: float = 1.0,
        poll_seconds: float = 0.02,
    ) -> None:
        self._client = client
        self._window_ms = max(1, int(window_seconds * 1000))
        self._prefix = prefix
        self._margin = lease_margin_seconds
        self._poll = poll_seconds
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(
        cls,
        url: str,
        window_seconds: float,
        *,
        timeout_seconds: float = 2.0,
        prefix: str = "hookline:dedup:",
        max_connections: int = 100,
    ) -> RedisDedupStore:
        # Explicit timeouts: an unreachable Redis must become a 503 quickly, not a hung request.
        # A blocking pool: more requests in flight than connections wait for one (up to the
        # same timeout); redis-py's default pool raises at once, a 503 while Redis is healthy.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
        )
        return cls(Redis.from_pool(pool), window_seconds, prefix=prefix)

    async def claim(self, key: str, event_id: str, wait: float) -> Claim:
        name = self._prefix + key
        token = f"{_PENDING}{uuid.uuid4().hex}"
        lease_ms = max(1, int((wait + self._margin) * 1000))
        deadline = time.monotonic() + wait + self._margin
        while True:
            try:
                if await self._client.set(name, token, nx=True, px=lease_ms):
                    return Claim("new", token=token)
                value = await self._client.get(name)
            except (RedisError, OSError) as exc:
                log.warning("dedup.unavailable", operation="claim", error=type(exc).__name__)
                raise DedupUnavailable("the dedup store (Redis) is unreachable") from exc
            raw = value.encode() if isinstance(value, str) else value
            if raw is not None and raw.startswith(_DONE):
                # Event ids never hold a newline; a value written before receipts has none.
                first, _, receipt = raw[len(_DONE) :].partition(b"\n")
                return Claim("done", first.decode(), receipt=decode(receipt))
            if time.monotonic() >= deadline:
                # The owner neither finished nor let go within its lease; try rather than refuse.
                return Claim("new")
            await asyncio.sleep(self._poll)

    async def complete(
        self, key: str, event_id: str, token: str | None = None, receipt: Receipt | None = None
    ) -> None:
        value = _DONE + event_id.encode()
        if receipt:
            value += b"\n" + encode(receipt).encode()
        try:
            await self._client.set(self._prefix + key, value, px=self._window_ms)
        except (RedisError, OSError) as exc:
            log.error("dedup.complete_failed", key=key, error=type(exc).__name__)

    async def release(self, key: str, token: str | None) -> None:
        if token is None:
            return
        try:
            await self._release(keys=[self._prefix + key], args=[token])
        except (RedisError, OSError) as exc:
            # The lease expires by itself; the provider's retry then claims anew.
            log.warning("dedup.release_failed", key=key, error=type(exc).__name__)

    async def close(self) -> None:
        await self._client.aclose()
