"""``file:`` secrets follow their files: polled every few seconds and re-read on SIGHUP.

A Kubernetes Secret volume updates by swapping a symlink (``..data``) to a new
directory, so the file behind a path gets a new inode; an edited file gets a
new mtime or size. The watcher compares ``os.stat`` of each path (following
symlinks) with what it saw last and reads the file only when that changed;
SIGHUP reads every file at once. Polling needs no dependency and works on
every filesystem a Secret can be mounted from, where inotify misses symlink
swaps in a parent directory.

A changed value is swapped into every :class:`Secret` with that path as one
string assignment: whatever already read the old value (a request in flight,
a signature scheme built from it) keeps it, everything after reads the new one.
Listeners hear which references changed and their previous values, so that
objects built from a secret (the ingress's signature schemes) can be rebuilt
and swapped whole. An unreadable or empty file keeps the old value and is
logged; the next change of the file is picked up again.

A secret that only a restart puts to use (:data:`RESTART_ONLY`, the Kafka SASL
password: docs/secrets.md says why) is still followed, and its change is
logged as ``config.secret_needs_restart`` so the operator knows to roll.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from hookline.config.secrets import Secret, iter_secrets, read_secret_file
from hookline.errors import SecretError

log = structlog.get_logger("hookline.config")

_Stat = tuple[int, int, int, int]


@dataclass(frozen=True)
class Change:
    """One secret reference whose value changed: the value it had and the one it has now."""

    ref: str
    previous: str
    value: str

    def __repr__(self) -> str:  # never show the value
        return f"Change({self.ref!r})"


Listener = Callable[[list[Change]], None]

# Settings paths whose new value only a restart puts to use.
RESTART_ONLY = frozenset({"kafka.sasl_password"})


def _stat(path: str) -> _Stat:
    found = os.stat(path)
    return (found.st_dev, found.st_ino, found.st_mtime_ns, found.st_size)


class SecretWatcher:
    """Re-reads the ``file:`` secrets it is given when their files change."""

    def __init__(
        self,
        secrets: Iterable[Secret],
        *,
        interval: float = 5.0,
        restart_only: Iterable[str] = (),
    ) -> None:
        self.interval = interval
        self.restart_only = frozenset(restart_only)  # references
        self._by_path: dict[str, list[Secret]] = {}
        for secret in secrets:
            if secret.path is None:
                continue
            group = self._by_path.setdefault(secret.path, [])
            # By identity: another object with the same reference must follow the file too.
            if not any(known is secret for known in group):
                group.append(secret)
        self._seen: dict[str, tuple[_Stat | None, str | None]] = {}
        for path, group in self._by_path.items():
            try:
                stat: _Stat | None = _stat(path)
            except OSError:
                stat = None
            self._seen[path] = (stat, _value_of(group))
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self.reloads = 0  # changes applied, for tests and state

    @classmethod
    def for_settings(cls, settings: Any) -> SecretWatcher:
        """Every ``file:`` secret in a settings tree, checked as ``settings.secrets`` says."""
        rotation = getattr(settings, "secrets", None)
        interval = getattr(rotation, "reload_interval_seconds", 5.0)
        found = list(iter_secrets(settings))
        restart_only = {secret.ref for path, secret in found if path in RESTART_ONLY}
        return cls((secret for _, secret in found), interval=interval, restart_only=restart_only)

    @property
    def paths(self) -> list[str]:
        return sorted(self._by_path)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def check(self, *, force: bool = False) -> list[Change]:
        """Read the files whose stat changed (every file when ``force``); apply and announce changes."""
        changes: list[Change] = []
        for path, group in self._by_path.items():
            seen_stat, seen_value = self._seen[path]
            try:
                stat: _Stat | None = _stat(path)
            except OSError:
                stat = None
            if stat == seen_stat and not force:
                continue
            try:
                value = read_secret_file(path)
                if not value:
                    raise SecretError(f"secret file {path} is empty")
            except SecretError as exc:
                if stat != seen_stat:
                    log.warning("config.secret_unreadable", ref=group[0].ref, reason=str(exc))
                    self._seen[path] = (stat, seen_value)
                continue
            self._seen[path] = (stat, value)
            if value == seen_value:
                continue
            for secret in group:
                secret.rotate(value)
            if seen_value is not None:
                refs = sorted({s.ref for s in group})
                changes.extend(Change(ref, seen_value, value) for ref in refs)
        if changes:
            self.reloads += len(changes)
            log.info("config.secrets_rotated", refs=[c.ref for c in changes], forced=force)
            for change in changes:
                if change.ref in self.restart_only:
                    log.warning("config.secret_needs_restart", ref=change.ref)
            for listener in self._listeners:
                try:
                    listener(changes)
                except Exception:  # one broken listener must not stop the others
                    log.exception("config.secret_listener_failed", listener=repr(listener))
        return changes

    def start(self) -> None:
        """Poll in the background (unless the interval is 0) and re-read everything on SIGHUP."""
        if not self._by_path:
            return
        _hangup.add(self)
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._poll(), name="hookline-secret-watch")

    async def stop(self) -> None:
        _hangup.discard(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()


def _value_of(group: list[Secret]) -> str | None:
    try:
        return group[0].get()
    except SecretError:
        return None


class _Hangup:
    """One SIGHUP handler per process for every running watcher (a loop holds one per signal)."""

    def __init__(self) -> None:
        self.watchers: list[SecretWatcher] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, watcher: SecretWatcher) -> None:
        if watcher in self.watchers:
            return
        self.watchers.append(watcher)
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        try:
            loop.add_signal_handler(signal.SIGHUP, self._handle)
        except (NotImplementedError, RuntimeError, ValueError):
            # Not the main thread (a test's server thread), or no SIGHUP here: polling only.
            return
        self._loop = loop

    def discard(self, watcher: SecretWatcher) -> None:
        if watcher in self.watchers:
            self.watchers.remove(watcher)
        if not self.watchers and self._loop is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                if not self._loop.is_closed():
                    self._loop.remove_signal_handler(signal.SIGHUP)
            self._loop = None

    def _handle(self) -> None:
        log.info("config.sighup", watchers=len(self.watchers))
        for watcher in list(self.watchers):
            watcher.check(force=True)


_hangup = _Hangup()

__all__ = ["RESTART_ONLY", "Change", "Listener", "SecretWatcher"]
