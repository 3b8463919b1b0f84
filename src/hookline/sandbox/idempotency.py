"""``Idempotency-Key`` replay as every simulator honours it (docs/providers/simulators.md#idempotency).

Scope is (credential, method, path template); an answer is kept 24 h. A repeat
gets the first answer unchanged plus ``Idempotent-Replayed: true``; a repeat
whose body differs is replayed too and counted as a mismatch. A repeat that
arrives while the first is still running waits for it. Only answers the real
handler produced with a 2xx or 4xx are kept: a 5xx (or a crash) releases the
key so that the next try runs for real.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

RETENTION_SECONDS = 24 * 3600

Scope = tuple[str, str, str, str]  # credential, method, path template, key


@dataclass(frozen=True)
class StoredResponse:
    """A complete answer as the handler sent it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def storable(self) -> bool:
        return 200 <= self.status < 300 or 400 <= self.status < 500


@dataclass
class _Entry:
    body_hash: str
    done: asyncio.Future[StoredResponse | None] = field(repr=False)
    response: StoredResponse | None = None
    stored_at: float = 0.0


@dataclass
class Claim:
    """What :meth:`IdempotencyStore.claim` decided: run the handler, or replay."""

    scope: Scope
    replay: StoredResponse | None
    mismatch: bool = False
    entry: _Entry | None = field(default=None, repr=False)


class IdempotencyStore:
    """The idempotency keys of one simulator; single event loop, no locks needed."""

    def __init__(
        self,
        retention_seconds: float = RETENTION_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retention = retention_seconds
        self.clock = clock
        self._entries: dict[Scope, _Entry] = {}
        # Stored entries in the order they were stored: expiry pops from the left.
        self._stored: deque[tuple[Scope, _Entry]] = deque()
        self.repeats = 0
        self.mismatches = 0

    @staticmethod
    def hash_body(body: bytes) -> str:
        return hashlib.sha256(body).hexdigest()

    def _purge(self) -> None:
        cutoff = self.clock() - self.retention
        while self._stored and self._stored[0][1].stored_at < cutoff:
            scope, entry = self._stored.popleft()
            if self._entries.get(scope) is entry:
                del self._entries[scope]

    async def claim(self, scope: Scope, body: bytes) -> Claim:
        """Own the key (``replay is None``: run the handler, then :meth:`finish`) or replay."""
        self._purge()
        body_hash = self.hash_body(body)
        while True:
            entry = self._entries.get(scope)
            if entry is None:
                loop = asyncio.get_running_loop()
                entry = _Entry(body_hash=body_hash, done=loop.create_future())
                self._entries[scope] = entry
                return Claim(scope=scope, replay=None, entry=entry)
            if entry.response is None:
                # The first request is still running: wait, then look again (it may
                # have released the key after a 5xx, and then this one runs for real).
                await asyncio.shield(entry.done)
                continue
            self.repeats += 1
            mismatch = entry.body_hash != body_hash
            if mismatch:
                self.mismatches += 1
            return Claim(scope=scope, replay=entry.response, mismatch=mismatch)

    def finish(self, claim: Claim, response: StoredResponse | None) -> None:
        """Store the owner's answer when storable; otherwise release the key."""
        entry = claim.entry
        if entry is None or entry.response is not None:
            return
        # A reset while the handler ran dropped the entry: then nothing is stored.
        current = self._entries.get(claim.scope) is entry
        if current and response is not None and response.storable:
            entry.response = response
            entry.stored_at = self.clock()
            self._stored.append((claim.scope, entry))
        elif current:
            del self._entries[claim.scope]
        if not entry.done.done():
            entry.done.set_result(entry.response)

    @property
    def keys(self) -> int:
        self._purge()
        return len(self._stored)

    def clear(self) -> None:
        for entry in self._entries.values():
            if not entry.done.done():
                entry.done.set_result(None)
        self._entries.clear()
        self._stored.clear()
        self.repeats = 0
        self.mismatches = 0

    def counters(self) -> dict[str, int]:
        return {"keys": self.keys, "repeats": self.repeats, "mismatches": self.mismatches}
