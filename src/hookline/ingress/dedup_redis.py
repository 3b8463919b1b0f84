"""Dedup shared by every replica through Redis (``redis_url``), one round trip per batch.

One key per delivery, ``{prefix}{source}:{event id}``:

* ``claim``: ``SET key pending:<token> NX PX lease``, and the key's value when
  it is taken. The winner publishes; everyone else polls the key until it
  turns ``done:<event id>`` (duplicate) or disappears (the winner's publish
  failed: the next claim wins and publishes for real). The lease is the
  publish timeout plus a margin, so a replica that dies mid-publish blocks
  its delivery only that long.
* ``complete``: ``SET key done:<event id> PX window`` once Kafka acknowledged,
  followed by a newline and the delivery's receipt (where its events are
  stored, :func:`hookline.ingress.receipts.encode`) when there is one.
* ``release``: delete the key, but only if it still holds the token the
  claim returned (compare-and-delete), so a late release never frees someone
  else's claim. The token travels with the request, so the store keeps
  nothing per claim in the process.

**Batched.** The requests of one event-loop pass claim together, and the
completions and releases of one pass (a produce round's acknowledgement
resolves all its requests in one pass) finish together: one Lua script call
over all their keys, so Redis costs one round trip per batch instead of one
or two per request. At most
one batch is on the wire; what arrives meanwhile waits and goes in the next,
so a batch grows with the load, as the publisher's produce rounds do. Each
key is handled by itself inside the script (``pcall``): one key Redis refuses
answers its own request 503 and leaves the others alone. The keys of a batch
are many, so a Redis Cluster would need them in one slot (a ``{hash tag}`` in
the prefix).

Redis unreachable during ``claim`` raises :class:`DedupUnavailable` (503 and
the provider retries): we do not accept what we cannot de-duplicate. After
a publish was acknowledged, a failing ``complete`` is logged and the 2xx
stands: the event is safe in Kafka, and at worst a retry publishes it again
(at-least-once), which is better than asking the provider to retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, RedisError, ResponseError

from hookline.config.redis_auth import pool_from_url
from hookline.config.secrets import Secret
from hookline.ingress.dedup import Claim, DedupUnavailable
from hookline.ingress.receipts import Receipt, decode, encode
from hookline.observability.entropy import uuid4_hex

log = structlog.get_logger("hookline.ingress.dedup")

_DONE = b"done:"
_PENDING = "pending:"
_FAILED = b"!"  # a key the script could not handle: its error follows

# One call per batch. ARGV[1]: how many of the keys come first to be finished. Per such
# key three ARGV: "c", the done value, window ms (complete) or "r", the token, "" (release,
# compare-and-delete). Per claimed key after them two ARGV: token, lease ms. Finishing
# first lets a claim in the same batch see its key done. Answers, per claimed key: 1 when
# taken, else its value (false when it lapsed in between: the caller asks again), or
# "!<error>"; then how many finishes failed.
_BATCH = """
local finishes, failed, out = tonumber(ARGV[1]), 0, {}
for i = 1, finishes do
  local key, op, value = KEYS[i], ARGV[3 * i - 1], ARGV[3 * i]
  local done
  if op == 'c' then
    done = redis.pcall('SET', key, value, 'PX', ARGV[3 * i + 1])
  else
    done = redis.pcall('GET', key)
    if done == value then done = redis.pcall('DEL', key) end
  end
  if type(done) == 'table' and done.err then failed = failed + 1 end
end
local base = 3 * finishes + 1
for i = finishes + 1, #KEYS do
  local key, at = KEYS[i], base + 2 * (i - finishes) - 1
  local taken = redis.pcall('SET', key, ARGV[at], 'NX', 'PX', ARGV[at + 1])
  if type(taken) == 'table' and taken.err then
    out[#out + 1] = '!' .. taken.err
  elseif taken then
    out[#out + 1] = 1
  else
    local value = redis.pcall('GET', key)
    if type(value) == 'table' and value.err then
      out[#out + 1] = '!' .. value.err
    else
      out[#out + 1] = value
    end
  end
end
out[#out + 1] = failed
return out
"""
_BATCH_SHA = hashlib.sha1(
    _BATCH.encode(), usedforsecurity=False
).hexdigest()  # what EVALSHA names it by

# (key, token, lease ms, the caller's future)
_ClaimRequest = tuple[str, str, int, "asyncio.Future[bytes | int | None]"]
# (key, "c" or "r", value or token, window ms or "", the caller's future)
_FinishRequest = tuple[str, str, bytes | str, int | str, "asyncio.Future[None]"]


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
        self._claims: list[_ClaimRequest] = []
        self._finishes: list[_FinishRequest] = []
        self._flushing: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_url(
        cls,
        url: Secret | str,
        window_seconds: float,
        *,
        timeout_seconds: float = 2.0,
        prefix: str = "hookline:dedup:",
        max_connections: int = 100,
    ) -> RedisDedupStore:
        # Explicit timeouts: an unreachable Redis must become a 503 quickly, not a hung request.
        # A blocking pool: more requests in flight than connections wait for one (up to the
        # same timeout); redis-py's default pool raises at once, a 503 while Redis is healthy.
        # A file: secret's password is read at each new connection (config/redis_auth.py).
        pool = pool_from_url(
            url,
            BlockingConnectionPool,
            max_connections=max_connections,
            timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
        )
        return cls(Redis.from_pool(pool), window_seconds, prefix=prefix)

    # ---- the contract -------------------------------------------------------------------

    async def claim(self, key: str, event_id: str, wait: float) -> Claim:
        name = self._prefix + key
        token = _PENDING + uuid4_hex()
        lease_ms = max(1, int((wait + self._margin) * 1000))
        deadline = time.monotonic() + wait + self._margin
        while True:
            future: asyncio.Future[bytes | int | None] = self._running_loop().create_future()
            self._claims.append((name, token, lease_ms, future))
            self._schedule()
            answer = await future
            if answer == 1:
                return Claim("new", token=token)
            raw = answer.encode() if isinstance(answer, str) else answer
            if isinstance(raw, bytes) and raw.startswith(_FAILED):
                log.warning("dedup.unavailable", operation="claim", error=raw[1:].decode())
                raise DedupUnavailable("the dedup store (Redis) refused the claim")
            if isinstance(raw, bytes) and raw.startswith(_DONE):
                # Event ids never hold a newline; a value written before receipts has none.
                first, _, receipt = raw[len(_DONE) :].partition(b"\n")
                return Claim("done", first.decode(), receipt=decode(receipt))
            if raw is None:
                continue  # the owner let go (or its lease lapsed) in between: ask again
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
        await self._finish(self._prefix + key, "c", value, self._window_ms)

    async def release(self, key: str, token: str | None) -> None:
        if token is None:
            return
        await self._finish(self._prefix + key, "r", token, "")

    async def close(self) -> None:
        if self._flushing is not None:
            await asyncio.wait([self._flushing])
        if self._connection is not None:
            await self._client.connection_pool.release(self._connection)
            self._connection = None
        await self._client.aclose()

    # ---- batching -----------------------------------------------------------------------

    async def _finish(self, name: str, op: str, value: bytes | str, ms: int | str) -> None:
        future: asyncio.Future[None] = self._running_loop().create_future()
        self._finishes.append((name, op, value, ms, future))
        self._schedule()
        # Never raises: a failed complete or release is logged by the batch.
        await future

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        # get_running_loop() makes a getpid syscall per call on CPython 3.11 (dear in a
        # VM); a store serves one loop, the app's, so it is looked up once.
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def _schedule(self) -> None:
        # The task's first step runs in the next pass of the loop: every request of
        # this pass has queued by then. While a batch is on the wire, the next waits.
        if self._flushing is None:
            self._flushing = self._running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._claims or self._finishes:
                claims, self._claims = self._claims, []
                finishes, self._finishes = self._finishes, []
                try:
                    await self._round_trip(claims, finishes)
                except BaseException as exc:
                    # Whatever went wrong (a reply not shaped as expected, cancellation),
                    # no request may wait for its batch forever.
                    log.error("dedup.batch_failed", error=type(exc).__name__, exc_info=exc)
                    self._answer_claims(claims, exc)
                    self._answer_finishes(finishes, exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            self._flushing = None

    async def _round_trip(
        self, claims: list[_ClaimRequest], finishes: list[_FinishRequest]
    ) -> None:
        args: list[Any] = [len(finishes)]
        for _, op, value, ms, _ in finishes:
            args += (op, value, ms)
        for _, token, lease_ms, _ in claims:
            args += (token, lease_ms)
        keys = [f[0] for f in finishes] + [c[0] for c in claims]
        answer: Any
        try:
            answer = await self._script(len(keys), *keys, *args)
        except (RedisError, OSError) as exc:
            answer = exc
        if isinstance(answer, BaseException):
            self._answer_claims(claims, answer)
            self._answer_finishes(finishes, answer)
            return
        self._answer_claims(claims, answer[:-1])
        if answer[-1]:
            log.warning("dedup.finish_failed", failed=answer[-1], of=len(finishes))
        self._answer_finishes(finishes, None)

    async def _script(self, *keys_and_args: Any) -> Any:
        """The batch script on the store's own connection.

        At most one batch is on the wire, so one connection is enough, taken
        from the pool once: redis-py's per-command path (pool checkout under a
        lock, retry wrapper, command lookup) cost more than the batch itself.
        """
        connection = self._connection
        if connection is None:
            connection = await self._client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
            self._connection = connection
        try:
            try:
                return await self._call(connection, "EVALSHA", _BATCH_SHA, *keys_and_args)
            except NoScriptError:  # a Redis restarted or flushed: send the script itself
                return await self._call(connection, "EVAL", _BATCH, *keys_and_args)
        except ResponseError:
            raise  # Redis answered: the connection is sound
        except BaseException:
            # Anything else may leave a reply unread on it: never reuse it.
            self._connection = None
            await connection.disconnect()
            await self._client.connection_pool.release(connection)
            raise

    @staticmethod
    async def _call(connection: AbstractConnection, *args: Any) -> Any:
        await connection.send_packed_command(connection.pack_command(*args), check_health=False)
        return await connection.read_response()

    def _answer_claims(self, claims: list[_ClaimRequest], answer: Any) -> None:
        if isinstance(answer, BaseException):
            log.warning("dedup.unavailable", operation="claim", error=type(answer).__name__)
            unavailable = DedupUnavailable("the dedup store (Redis) is unreachable")
            for *_, future in claims:
                if not future.done():
                    future.set_exception(unavailable)
            return
        if len(answer) != len(claims):
            # Answers could not be told apart: none may be trusted (their leases lapse).
            raise ValueError(f"{len(answer)} answers to {len(claims)} claims")
        for (name, token, _, future), result in zip(claims, answer, strict=True):
            if not future.done():
                future.set_result(result)
            elif result == 1:
                # Its request is gone (cancelled): nobody will complete it, let it go now.
                self._finishes.append((name, "r", token, "", self._running_loop().create_future()))

    def _answer_finishes(
        self, finishes: list[_FinishRequest], answer: BaseException | None
    ) -> None:
        if answer is not None:
            # A complete lost: the event is in Kafka, a retry may publish it again
            # (at-least-once). A release lost: the lease expires by itself.
            for name, op, *_ in finishes:
                event = "dedup.complete_failed" if op == "c" else "dedup.release_failed"
                log.warning(event, key=name, error=type(answer).__name__)
        for *_, future in finishes:
            if not future.done():
                future.set_result(None)
