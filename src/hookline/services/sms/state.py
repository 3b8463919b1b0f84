"""What links a message's attempts: which providers were tried, which one is current.

The SMS worker reads it when a delivery report says ``undelivered`` and must
pick the next provider; the send handler reads it when a command is redelivered
after a crash. It lives in Redis when ``redis_url`` is set (shared by every
replica, survives a worker restart) and in memory otherwise (one replica only).

Writes are compare-and-set on a version number, so a delivery report and a
redelivered command racing on one message cannot both pick the next provider:
the loser gets :class:`StateConflict` (retryable) and re-reads.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from hookline.config.redis_auth import redis_from_url
from hookline.config.secrets import Secret
from hookline.errors import RetryableError
from hookline.messages.sms import AttemptRecord, ErrorClass, ProviderName

AttemptStatus = Literal["sending", "accepted", "delivered", "failed", "unknown"]
MessageStatus = Literal["sending", "accepted", "delivered", "failed"]


class Attempt(BaseModel):
    number: int
    provider: ProviderName
    attempt_key: str
    status: AttemptStatus = "sending"
    provider_message_id: str | None = None
    provider_status: str | None = None
    error_code: str | None = None
    error_class: ErrorClass | None = None
    started_at: float = Field(default_factory=time.time)


class MessageState(BaseModel):
    """One logical message and every attempt to deliver it."""

    message_id: str
    to: str
    body: str
    sender: str | None = None
    preferred: ProviderName | None = None
    reference: str | None = None
    # The A/B template and its variant the body was rendered from (None for a plain body).
    template: str | None = None
    variant: str | None = None
    status: MessageStatus = "sending"
    attempts: list[Attempt] = Field(default_factory=list)
    version: int = 0

    @property
    def current(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def tried(self) -> set[str]:
        return {a.provider for a in self.attempts}

    def attempt_for(self, provider: str) -> Attempt | None:
        return next((a for a in self.attempts if a.provider == provider), None)

    def records(self) -> list[AttemptRecord]:
        return [
            AttemptRecord(provider=a.provider, error_code=a.error_code, error_class=a.error_class)
            for a in self.attempts
        ]


class StateConflict(RetryableError):
    """Someone else changed the message state first; read it again and retry."""


class MessageStore(Protocol):
    async def get(self, message_id: str) -> MessageState | None: ...

    async def put(self, state: MessageState) -> MessageState:
        """Store ``state`` if nobody wrote since it was read; returns it with the new version."""

    async def close(self) -> None: ...


class MemoryMessageStore:
    """In-process state for a single worker replica."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._items: dict[str, tuple[float, str]] = {}

    async def get(self, message_id: str) -> MessageState | None:
        item = self._items.get(message_id)
        if item is None or item[0] < time.monotonic():
            self._items.pop(message_id, None)
            return None
        return MessageState.model_validate_json(item[1])

    async def put(self, state: MessageState) -> MessageState:
        current = await self.get(state.message_id)
        if (current.version if current else 0) != state.version:
            raise StateConflict(
                f"message {state.message_id} changed concurrently", retry_after=0.05
            )
        stored = state.model_copy(update={"version": state.version + 1})
        self._items[state.message_id] = (time.monotonic() + self._ttl, stored.model_dump_json())
        if len(self._items) > 200_000:
            self._evict()
        return stored

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._items.items() if exp < now]:
            del self._items[key]

    async def close(self) -> None:
        self._items.clear()


# KEYS[1] = state key; ARGV = expected version, new JSON, ttl seconds.
_CAS = """
local raw = redis.call('GET', KEYS[1])
local version = 0
if raw then version = tonumber(cjson.decode(raw)['version']) end
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


class RedisMessageStore:
    """State shared by every replica through Redis (one JSON value per message)."""

    def __init__(self, url: Secret | str, *, prefix: str, ttl_seconds: int) -> None:
        self._redis: Redis = redis_from_url(url)
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._cas = self._redis.register_script(_CAS)

    def _key(self, message_id: str) -> str:
        return f"{self._prefix}:sms:message:{message_id}"

    async def get(self, message_id: str) -> MessageState | None:
        raw = await self._redis.get(self._key(message_id))
        return None if raw is None else MessageState.model_validate_json(raw)

    async def put(self, state: MessageState) -> MessageState:
        stored = state.model_copy(update={"version": state.version + 1})
        ok = await self._cas(
            keys=[self._key(state.message_id)],
            args=[state.version, stored.model_dump_json(), self._ttl],
        )
        if not ok:
            raise StateConflict(
                f"message {state.message_id} changed concurrently", retry_after=0.05
            )
        return stored

    async def close(self) -> None:
        await self._redis.aclose()
