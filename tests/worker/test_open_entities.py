"""The SQLite open-entity store (no Redis): kept across a reopen, one opener per key across
connections (processes), scoped by topic prefix."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

from hookline.config.models import HooklineSettings
from hookline.providers.reconcile import Entity
from hookline.worker.open_entities import SqliteOpenStore, default_store_path, open_store


def _entity(n: int, provider: str = "twilio") -> Entity:
    return Entity(
        provider=provider,
        entity_id=f"SM{n:04d}",
        kind="sms.message",
        subject=f"msg-{n}",
        status="queued",
        opened_at=1000.0 + n,
        last_news_at=1000.0 + n,
        context={"to": "+14155550123"},
    )


async def test_entities_and_contexts_outlive_the_store_that_wrote_them(tmp_path: Path) -> None:
    """Open, touch, remember; a new store on the same file (a restarted worker) sees all of it."""
    path = tmp_path / "state" / "open.sqlite3"
    store = SqliteOpenStore(path, "p1")
    try:
        assert await store.open(_entity(1))
        assert not await store.open(_entity(1))
        touched = _entity(2)
        assert await store.open(touched)
        touched.status, touched.checks = "sent", 3
        await store.save(touched)
        await store.remember("colt:cmd-1", {"quote_id": "Q-1"})
        assert await store.close("twilio:SM0001")
        assert not await store.close("twilio:SM0001")
    finally:
        await store.aclose()
    again = SqliteOpenStore(path, "p1")
    try:
        [kept] = await again.all()
        assert (kept.key, kept.status, kept.checks) == ("twilio:SM0002", "sent", 3)
        assert kept.context == {"to": "+14155550123"}
        assert await again.get("twilio:SM0002") == kept
        assert await again.recall("colt:cmd-1") == {"quote_id": "Q-1"}
        assert await SqliteOpenStore(path, "other-prefix").all() == []
    finally:
        await again.aclose()


def _open_all(path: str, count: int, queue: multiprocessing.Queue[int]) -> None:
    async def run() -> int:
        store = SqliteOpenStore(Path(path), "p1")
        try:
            return sum([await store.open(_entity(n)) for n in range(count)])
        finally:
            await store.aclose()

    queue.put(asyncio.run(run()))


async def test_processes_opening_the_same_entities_record_each_once(tmp_path: Path) -> None:
    """Three processes open the same 60 entities at once: 60 recorded in all, none lost or doubled."""
    path = tmp_path / "open.sqlite3"
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[int] = context.Queue()
    workers = [context.Process(target=_open_all, args=(str(path), 60, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    opened = [await asyncio.to_thread(queue.get, True, 120) for _ in workers]
    for worker in workers:
        await asyncio.to_thread(worker.join, 30)
        assert worker.exitcode == 0
    assert sum(opened) == 60, opened
    store = SqliteOpenStore(path, "p1")
    try:
        assert len(await store.all()) == 60
    finally:
        await store.aclose()


def test_without_redis_the_store_is_a_file_under_the_state_directory(tmp_path: Path) -> None:
    """No redis_url: SQLite at services.reconcile.store_path, else under $XDG_STATE_HOME per prefix."""
    settings = HooklineSettings.model_validate({"kafka": {"topic_prefix": "acme"}})
    store = open_store(settings)
    assert isinstance(store, SqliteOpenStore)
    assert store.path == default_store_path("acme")
    assert store.path.parts[-3:] == ("hookline", "acme", "open-entities.sqlite3")
    configured = HooklineSettings.model_validate(
        {"services": {"reconcile": {"store_path": str(tmp_path / "x.sqlite3")}}}
    )
    chosen = open_store(configured)
    assert isinstance(chosen, SqliteOpenStore) and chosen.path == tmp_path / "x.sqlite3"
