"""Signed callbacks from a simulator to the ingress (docs/providers/simulators.md#callbacks).

A provider simulator builds a :class:`Callback` (target URL, exact body bytes,
the signature scheme it signs with) and hands it to
:meth:`CallbackSender.enqueue`. The sender then:

- keeps **FIFO order per entity**: a callback waits until the one before it
  for the same entity was delivered or abandoned;
- counts only a **2xx** as delivered (plus the callback's own ``accept`` check,
  e.g. Mitake's exact acknowledgement body), with a 5 s timeout;
- **retries** after 1, 2, 4 and 8 s (5 attempts, no jitter), then abandons;
  every attempt sends the same event id and body byte for byte and is signed
  afresh, so timestamped schemes carry the current time;
- after delivery, re-sends the event ``duplicate`` times (dedup tests);
- with ``bad_signature`` corrupts one character of the signature;
- under a hold (``POST /_sim/callbacks``: ``{"drop": true}`` or
  ``{"delay_seconds": N}``) drops every new callback (counted in ``dropped``)
  or sends it N seconds late, so reconciliation can be tested without them.

Counters: ``sent`` (deliveries started, duplicates included), ``delivered``,
``retrying`` (waiting for their next attempt now), ``abandoned``, ``attempts``,
``queued`` (waiting behind another callback of their entity) and ``last``
(the most recent outcomes, newest last).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import structlog

from hookline.signatures.base import Headers, Scheme, SignedRequest

log = structlog.get_logger("hookline.sandbox.callbacks")

RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
TIMEOUT_SECONDS = 5.0
KEEP_LAST = 20
# How many entities' trace contexts a sender remembers (oldest forgotten first).
TRACED_ENTITIES = 10_000

# The ``traceparent`` of the API request a simulator is serving, if it sent one. A
# callback queued while serving it carries it, as does every later callback about
# the same entity (a ticker's progress), so one trace runs from the client's call
# through the simulator's callbacks back into the ingress. Real providers send no
# traceparent; there the CloudEvent chain (correlationid) links the callback.
SERVING_TRACEPARENT: ContextVar[str | None] = ContextVar("sandbox_traceparent", default=None)

# Header names that carry a signature or a token, for bad_signature when the
# callback does not name its signature header itself.
_SIGNATURE_HINTS = ("sig", "hmac", "token")

AckCheck = Callable[[int, bytes], bool]


@dataclass(frozen=True)
class Callback:
    """One event a simulator sends: the bytes are fixed, the signature is made per attempt."""

    entity: str
    event_id: str
    url: str
    body: bytes
    content_type: str | None = "application/json"
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    scheme: Scheme | None = None
    # Which header bad_signature corrupts; guessed from the signed headers when None.
    signature_header: str | None = None
    # An extra acknowledgement check after the 2xx (status, body) → delivered?
    accept: AckCheck | None = None
    duplicate: int = 0
    bad_signature: bool = False
    delay_seconds: float = 0.0


def _flip_char(char: str) -> str:
    # Stay inside the alphabet (hex, base64, token) so that the value still
    # parses and the verifier rejects it as a mismatch, not as malformed.
    for alphabet in (
        "0123456789",
        "abcdef",
        "ABCDEF",
        "ghijklmnopqrstuvwxyz",
        "GHIJKLMNOPQRSTUVWXYZ",
    ):
        if char in alphabet:
            return alphabet[(alphabet.index(char) + 1) % len(alphabet)]
    return char


def flip_one(value: str) -> str:
    """``value`` with one character in its middle changed (never a padding character)."""
    for index in list(range(len(value) // 2, len(value))) + list(range(len(value) // 2)):
        flipped = _flip_char(value[index])
        if flipped != value[index]:
            return value[:index] + flipped + value[index + 1 :]
    return value + "x"


def corrupt_signature(
    signed: SignedRequest, unsigned: SignedRequest, header: str | None = None
) -> SignedRequest:
    """The signed request with one byte of its signature flipped.

    The signature is ``header`` when given; else the one header the scheme added
    whose name says signature/hmac/token (or the only one it added); else a
    query parameter the scheme added to the URL (token schemes).
    """
    if header is None:
        added = [
            name for name in signed.headers if signed.headers[name] != unsigned.headers.get(name)
        ]
        hinted = [name for name in added if any(h in name for h in _SIGNATURE_HINTS)]
        header = hinted[0] if hinted else (added[0] if len(added) == 1 else None)
    if header is not None and header in signed.headers:
        return signed.with_headers({header: flip_one(signed.headers[header])})
    if signed.url != unsigned.url:
        parts = urlsplit(signed.url)
        before = dict(parse_qsl(urlsplit(unsigned.url).query, keep_blank_values=True))
        query = parse_qsl(parts.query, keep_blank_values=True)
        changed = [(k, flip_one(v) if before.get(k) != v else v) for k, v in query]
        return replace(signed, url=urlunsplit(parts._replace(query=urlencode(changed))))
    raise ValueError("cannot find the signature to corrupt; set Callback.signature_header")


class CallbackSender:
    """Delivers callbacks in order per entity, with retries; one per simulator."""

    def __init__(
        self,
        *,
        provider: str = "",
        retry_delays: Sequence[float] = RETRY_DELAYS,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
        keep_last: int = KEEP_LAST,
    ) -> None:
        self.provider = provider
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.clock = clock
        self._client: httpx.AsyncClient | None = None
        self._queues: dict[str, deque[Callback]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._traces: dict[str, str] = {}
        self._zero(keep_last)

    def _zero(self, keep_last: int = KEEP_LAST) -> None:
        self.drop = False
        self.hold_seconds = 0.0
        self.dropped = 0
        self.sent = 0
        self.delivered = 0
        self.retrying = 0
        self.abandoned = 0
        self.attempts = 0
        self.last: deque[dict[str, Any]] = deque(maxlen=keep_last)

    # ---- life cycle -------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)

    async def close(self) -> None:
        await self._cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def reset(self) -> None:
        """Drop every queued and retrying callback and zero the counters."""
        await self._cancel_all()
        self._zero(self.last.maxlen or KEEP_LAST)

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queues.clear()
        self._tasks.clear()
        self._idle.set()

    # ---- queueing ---------------------------------------------------------

    def enqueue(self, callback: Callback) -> None:
        """Queue a callback behind the earlier ones of its entity; returns at once."""
        if self.drop:
            self.dropped += 1
            log.info("sandbox.callback.dropped", provider=self.provider, event_id=callback.event_id)
            return
        if self.hold_seconds > 0:
            callback = replace(callback, delay_seconds=callback.delay_seconds + self.hold_seconds)
        callback = self._traced(callback)
        queue = self._queues.setdefault(callback.entity, deque())
        queue.append(callback)
        self._idle.clear()
        if callback.entity not in self._tasks:
            self._tasks[callback.entity] = asyncio.create_task(
                self._run_entity(callback.entity, queue), name=f"callbacks-{callback.entity}"
            )

    def _traced(self, callback: Callback) -> Callback:
        """The callback with the trace context of the request that led to it, when known."""
        if any(name.lower() == "traceparent" for name in callback.headers):
            return callback
        traceparent = SERVING_TRACEPARENT.get()
        if traceparent is not None:
            self._traces.pop(callback.entity, None)
            self._traces[callback.entity] = traceparent
            while len(self._traces) > TRACED_ENTITIES:
                del self._traces[next(iter(self._traces))]
        else:
            traceparent = self._traces.get(callback.entity)
        if traceparent is None:
            return callback
        return replace(callback, headers={**callback.headers, "traceparent": traceparent})

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued callback was delivered or abandoned."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    @property
    def queued(self) -> int:
        # The head of each queue is in flight, the rest wait behind it.
        return sum(max(len(queue) - 1, 0) for queue in self._queues.values())

    async def _run_entity(self, entity: str, queue: deque[Callback]) -> None:
        try:
            while queue:
                await self._deliver_all(queue[0])
                queue.popleft()
        finally:
            # No await between the empty check and here: enqueue cannot slip in between.
            if self._queues.get(entity) is queue:
                del self._queues[entity]
                del self._tasks[entity]
            if not self._tasks:
                self._idle.set()

    async def _deliver_all(self, callback: Callback) -> None:
        if callback.delay_seconds > 0:
            await asyncio.sleep(callback.delay_seconds)
        if await self._deliver(callback, duplicate=False):
            for _ in range(callback.duplicate):
                await self._deliver(callback, duplicate=True)

    # ---- delivery ---------------------------------------------------------

    async def _deliver(self, callback: Callback, *, duplicate: bool) -> bool:
        self.sent += 1
        attempt = 0
        status: int | None = None
        while True:
            attempt += 1
            status, ok = await self._attempt(callback, attempt)
            if ok:
                self.delivered += 1
                self._record(callback, status, attempt, "delivered", duplicate)
                log.info(
                    "sandbox.callback.delivered",
                    provider=self.provider,
                    event_id=callback.event_id,
                    status=status,
                    attempts=attempt,
                    duplicate=duplicate,
                )
                return True
            if attempt > len(self.retry_delays):
                break
            self.retrying += 1
            try:
                await asyncio.sleep(self.retry_delays[attempt - 1])
            finally:
                self.retrying -= 1
        self.abandoned += 1
        self._record(callback, status, attempt, "abandoned", duplicate)
        log.warning(
            "sandbox.callback.abandoned",
            provider=self.provider,
            event_id=callback.event_id,
            status=status,
            attempts=attempt,
        )
        return False

    def sign(self, callback: Callback) -> SignedRequest:
        """The request as it goes out now: signed with the current time, maybe corrupted."""
        headers = dict(callback.headers)
        if callback.content_type is not None:
            headers["content-type"] = callback.content_type
        unsigned = SignedRequest(
            body=callback.body, headers=Headers(headers), url=callback.url, method=callback.method
        )
        if callback.scheme is None:
            return unsigned
        signed = callback.scheme.sign(unsigned, self.clock())
        if callback.bad_signature:
            signed = corrupt_signature(signed, unsigned, callback.signature_header)
        return signed

    async def _attempt(self, callback: Callback, attempt: int) -> tuple[int | None, bool]:
        await self.start()
        assert self._client is not None
        self.attempts += 1
        request = self.sign(callback)
        try:
            response = await self._client.request(
                request.method,
                request.url,
                content=request.body,
                headers=dict(request.headers.items()),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            log.info(
                "sandbox.callback.attempt_failed",
                provider=self.provider,
                event_id=callback.event_id,
                attempt=attempt,
                error=type(exc).__name__,
            )
            return None, False
        ok = 200 <= response.status_code < 300
        if ok and callback.accept is not None:
            ok = callback.accept(response.status_code, response.content)
        if not ok:
            log.info(
                "sandbox.callback.attempt_failed",
                provider=self.provider,
                event_id=callback.event_id,
                attempt=attempt,
                status=response.status_code,
            )
        return response.status_code, ok

    def _record(
        self, callback: Callback, status: int | None, attempts: int, outcome: str, duplicate: bool
    ) -> None:
        self.last.append(
            {
                "event_id": callback.event_id,
                "entity": callback.entity,
                "status": status,
                "attempts": attempts,
                "outcome": outcome,
                "duplicate": duplicate,
            }
        )

    def counters(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "abandoned": self.abandoned,
            "attempts": self.attempts,
            "queued": self.queued,
            "dropped": self.dropped,
            # Callbacks not yet delivered or abandoned (waiting, held back or in flight).
            "pending": sum(len(queue) for queue in self._queues.values()),
            "hold": {"drop": self.drop, "delay_seconds": self.hold_seconds},
            "last": list(self.last),
        }
