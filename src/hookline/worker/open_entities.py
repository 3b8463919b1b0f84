"""Open entities: what hookline started and has not seen finish (docs/reconcile.md#open-entities).

With ``redis_url`` they live in Redis (one hash per deployment, every replica
and every restart sees the same entities). Without it (one machine) they live
in a SQLite file in WAL mode (``services.reconcile.store_path``, default
``$XDG_STATE_HOME/hookline/{topic_prefix}/open-entities.sqlite3``): it survives
a restart and every process of the machine (``hookline run``, a separate
``hookline worker reconcile``, ``hookline reconcile``, the admin endpoint)
reads and writes the same entities. A compacted Kafka topic read at start was
the other candidate; it survives a restart, but with the embedded broker only
while that broker runs, and every replica would have to read the whole topic
before its first pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis

from hookline.config.models import HooklineSettings
from hookline.config.redis_auth import redis_from_url
from hookline.config.secrets import Secret
from hookline.providers.reconcile import Entity

# How long a submitted command's context (Colt contacts) waits for its result event.
CONTEXT_TTL_SECONDS = 7 * 86_400


class OpenStore(Protocol):
    async def open(self, entity: Entity) -> bool:
        """Record ``entity`` unless its key is already open; whether it was recorded."""

    async def save(self, entity: Entity) -> None: ...

    async def get(self, key: str) -> Entity | None: ...

    async def close(self, key: str) -> bool:
        """Forget ``key``; whether it was open."""

    async def all(self) -> list[Entity]: ...

    async def remember(self, key: str, context: dict[str, Any]) -> None: ...

    async def recall(self, key: str) -> dict[str, Any] | None: ...

    async def aclose(self) -> None: ...


def _dump(entity: Entity) -> str:
    return json.dumps(dataclasses.asdict(entity), separators=(",", ":"))


def _load(raw: str | bytes) -> Entity:
    fields = json.loads(raw)
    known = {f.name for f in dataclasses.fields(Entity)}
    # An entity written by a newer version may carry fields this one does not know.
    return Entity(**{k: v for k, v in fields.items() if k in known})


class MemoryOpenStore:
    """One process's open entities, lost on restart (for tests and embedding; ``open_store``
    picks Redis or SQLite)."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}
        self._context: dict[str, dict[str, Any]] = {}

    async def open(self, entity: Entity) -> bool:
        if entity.key in self._open:
            return False
        self._open[entity.key] = _dump(entity)
        return True

    async def save(self, entity: Entity) -> None:
        self._open[entity.key] = _dump(entity)

    async def get(self, key: str) -> Entity | None:
        raw = self._open.get(key)
        return _load(raw) if raw is not None else None

    async def close(self, key: str) -> bool:
        return self._open.pop(key, None) is not None

    async def all(self) -> list[Entity]:
        return [_load(raw) for raw in list(self._open.values())]

    async def remember(self, key: str, context: dict[str, Any]) -> None:
        self._context[key] = context
        while len(self._context) > 100_000:
            del self._context[next(iter(self._context))]

    async def recall(self, key: str) -> dict[str, Any] | None:
        return self._context.get(key)

    async def aclose(self) -> None:
        return None


class RedisOpenStore:
    """Open entities in one Redis hash, shared by replicas and kept across restarts."""

    def __init__(self, url: Secret | str, prefix: str) -> None:
        self._redis: Redis = redis_from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._hash = f"{prefix}:reconcile:open"
        self._context = f"{prefix}:reconcile:context:"

    async def open(self, entity: Entity) -> bool:
        return bool(await self._redis.hsetnx(self._hash, entity.key, _dump(entity)))

    async def save(self, entity: Entity) -> None:
        await self._redis.hset(self._hash, entity.key, _dump(entity))

    async def get(self, key: str) -> Entity | None:
        raw = await self._redis.hget(self._hash, key)
        return _load(raw) if raw is not None else None

    async def close(self, key: str) -> bool:
        return bool(await self._redis.hdel(self._hash, key))

    async def all(self) -> list[Entity]:
        values: dict[Any, Any] = await self._redis.hgetall(self._hash)
        return [_load(raw) for raw in values.values()]

    async def remember(self, key: str, context: dict[str, Any]) -> None:
        await self._redis.set(self._context + key, json.dumps(context), ex=CONTEXT_TTL_SECONDS)

    async def recall(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._context + key)
        return json.loads(raw) if raw is not None else None

    async def aclose(self) -> None:
        await self._redis.aclose()


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS open_entities ("
    " scope TEXT NOT NULL, key TEXT NOT NULL, entity TEXT NOT NULL, PRIMARY KEY (scope, key))",
    "CREATE TABLE IF NOT EXISTS contexts ("
    " scope TEXT NOT NULL, key TEXT NOT NULL, context TEXT NOT NULL, expires_at REAL NOT NULL,"
    " PRIMARY KEY (scope, key))",
)


class SqliteOpenStore:
    """Open entities in a SQLite file (WAL): kept across restarts, shared by the processes
    of one machine. Each call runs on the store's own thread, off the event loop; the
    ``busy_timeout`` lets a writer wait for another process's write instead of failing."""

    def __init__(self, path: Path, scope: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self.scope = scope
        self._busy_timeout_ms = busy_timeout_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-entities")
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: every statement is its own transaction, so no lock outlives a call.
            db = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            for statement in _SCHEMA:
                db.execute(statement)
            self._db = db
        return self._db

    async def _run(self, query: str, *params: Any) -> sqlite3.Cursor:
        def call() -> sqlite3.Cursor:
            return self._connect().execute(query, params)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _rows(self, query: str, *params: Any) -> list[Any]:
        def call() -> list[Any]:
            return self._connect().execute(query, params).fetchall()

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self, entity: Entity) -> bool:
        cursor = await self._run(
            "INSERT OR IGNORE INTO open_entities (scope, key, entity) VALUES (?, ?, ?)",
            self.scope,
            entity.key,
            _dump(entity),
        )
        return cursor.rowcount == 1

    async def save(self, entity: Entity) -> None:
        await self._run(
            "INSERT OR REPLACE INTO open_entities (scope, key, entity) VALUES (?, ?, ?)",
            self.scope,
            entity.key,
            _dump(entity),
        )

    async def get(self, key: str) -> Entity | None:
        rows = await self._rows(
            "SELECT entity FROM open_entities WHERE scope = ? AND key = ?", self.scope, key
        )
        return _load(rows[0][0]) if rows else None

    async def close(self, key: str) -> bool:
        cursor = await self._run(
            "DELETE FROM open_entities WHERE scope = ? AND key = ?", self.scope, key
        )
        return cursor.rowcount > 0

    async def all(self) -> list[Entity]:
        rows = await self._rows("SELECT entity FROM open_entities WHERE scope = ?", self.scope)
        return [_load(row[0]) for row in rows]

    async def remember(self, key: str, context: dict[str, Any]) -> None:
        now = time.time()
        await self._run(
            "INSERT OR REPLACE INTO contexts (scope, key, context, expires_at) VALUES (?, ?, ?, ?)",
            self.scope,
            key,
            json.dumps(context),
            now + CONTEXT_TTL_SECONDS,
        )
        await self._run("DELETE FROM contexts WHERE expires_at < ?", now)

    async def recall(self, key: str) -> dict[str, Any] | None:
        rows = await self._rows(
            "SELECT context FROM contexts WHERE scope = ? AND key = ? AND expires_at >= ?",
            self.scope,
            key,
            time.time(),
        )
        if not rows:
            return None
        context: dict[str, Any] = json.loads(rows[0][0])
        return context

    async def aclose(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=False)


def default_store_path(prefix: str) -> Path:
    """``$XDG_STATE_HOME/hookline/{prefix}/open-entities.sqlite3`` (XDG's default: ~/.local/state)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "hookline" / prefix / "open-entities.sqlite3"


def store_path(settings: HooklineSettings) -> Path:
    """Where the SQLite store lives: ``services.reconcile.store_path`` or the default."""
    raw: Any = settings.services.get("reconcile", {})
    configured = raw.get("store_path") if isinstance(raw, dict) else None
    if configured:
        return Path(str(configured)).expanduser()
    return default_store_path(settings.kafka.topic_prefix)


def open_store(settings: HooklineSettings) -> OpenStore:
    """Redis with ``redis_url`` (replicas share it); else the machine's SQLite file."""
    if settings.redis_url is not None:
        return RedisOpenStore(settings.redis_url, settings.kafka.topic_prefix)
    return SqliteOpenStore(store_path(settings), settings.kafka.topic_prefix)
