"""The ingress's HTTP/1.1 connection handling: limits enforced before any request is read.

uvicorn bounds none of what a hostile client controls before authentication:
header size (httptools buffers a header of any length), the time to send the
headers, the time to send the body; and its ``limit_concurrency`` answers a
plain-text 503 only once a request's headers have arrived. This protocol is
uvicorn's httptools protocol with those four limits added (``server:`` in the
configuration), and with the server-level refusals (framing errors included)
answered as problem+json like every other error of the ingress. Replacing the
server would have cost the measured request path (uvicorn + httptools); a
subclass keeps it and adds a few timers per connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from hookline.config.models import ServerSettings
from hookline.ingress.problems import problem
from hookline.observability.metrics import EDGE_REFUSALS

log = structlog.get_logger("hookline.ingress")

# Where `hookline serve --workers N` points uvicorn (an import string survives the fork).
PROTOCOL_PATH = "hookline.ingress.server:EdgeProtocol"


class _Refusal(Exception):
    def __init__(self, status: int, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason


def server_settings_of(app: Any) -> ServerSettings:
    """The ``server:`` settings the ingress app carries (defaults for any other app)."""
    for _ in range(8):  # through whatever middleware uvicorn wrapped around it
        settings = getattr(app, "server_settings", None)
        if isinstance(settings, ServerSettings):
            return settings
        app = getattr(app, "app", None)
        if app is None:
            break
    return ServerSettings()


class EdgeCycle(RequestResponseCycle):
    """uvicorn's request cycle, with a whole response written in one ``write``.

    uvicorn writes the status line and headers, then the body: two sends per
    answer, each waking the client. The ingress always has its whole answer at
    once (``ingress/edge.py``), so it hands it over in one piece: after a
    produce round is acknowledged, each of the round's requests costs one
    socket write.
    """

    async def send_whole(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """``http.response.start`` then a final ``http.response.body``, as one write."""
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if self.response_started:
            raise RuntimeError("A response was already started.")
        self.response_started = True
        self.waiting_for_100_continue = False
        content = [STATUS_LINE[status]]
        for name, value in self.default_headers + headers:
            if HEADER_RE.search(name):
                raise RuntimeError("Invalid HTTP header name.")
            if HEADER_VALUE_RE.search(value):
                raise RuntimeError("Invalid HTTP header value.")
            content.extend([name.lower(), b": ", value, b"\r\n"])
        # The caller's headers carry its content-length; HEAD never comes this way.
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content.extend([b"\r\n", body])
        self.transport.write(b"".join(content))
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body deadlines, header and connection caps."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = server_settings_of(self.app)
        self.max_header_bytes = settings.max_header_bytes
        self.header_timeout = settings.header_timeout_seconds
        self.body_timeout = settings.body_timeout_seconds
        self.max_connections = settings.max_connections
        self.retry_after = settings.retry_after_seconds
        # One timer per connection, re-armed lazily: a request moves the deadline
        # (two float stores) instead of creating and cancelling a timer per phase
        # (~10 us each with uvloop, measured, twice per request).
        self._phase: str | None = None
        self._deadline_at = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._in_headers = True
        self._header_bytes = 0
        self._over_cap = False
        self._messages = 0  # requests begun on this connection
        self._began_here = False  # a request began in the chunk being parsed
        self._chunk_bytes = 0  # size of the chunk being parsed

    # ---- deadlines ----------------------------------------------------------------------

    def _arm(self, seconds: float, phase: str) -> None:
        self._phase = phase
        self._deadline_at = self.loop.time() + seconds
        if self._timer is not None and self._timer_at > self._deadline_at:
            # A sooner deadline than the pending timer (headers after a body): reset it.
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer_at = self._deadline_at
            self._timer = self.loop.call_at(self._deadline_at, self._check)

    def _disarm(self) -> None:
        self._phase = None  # the pending timer, if any, finds nothing due

    def _check(self) -> None:
        self._timer = None
        if self._phase is None or self.transport.is_closing():
            return
        if self.loop.time() < self._deadline_at:  # moved on since the timer was set
            self._timer_at = self._deadline_at
            self._timer = self.loop.call_at(self._deadline_at, self._check)
            return
        self._expired(self._phase)

    def _expired(self, phase: str) -> None:
        self._phase = None
        if phase == "keep-alive":
            self.timeout_keep_alive_handler()
            return
        log.info("ingress.slow_client_closed", phase=phase, client=_peer(self.client))
        if phase == "headers":
            self._refuse(
                408, "The request headers did not arrive in time.", reason="header_timeout"
            )
        else:
            # The app is waiting in receive(): closing tells it the client is gone.
            EDGE_REFUSALS.labels("closed", f"{phase}_timeout").inc()
            self.transport.close()

    # ---- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # Counted before this one joins: max_connections open at once, the next is refused.
        self._over_cap = len(self.connections) >= self.max_connections
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def _refuse_over_cap(self) -> None:
        # Answered once the request's first bytes are read, not at accept: closing
        # with the request still unread would reset the connection, and the client
        # would never see the 503 and its Retry-After.
        log.warning("ingress.connection_refused", reason="max_connections")
        headers = {"Retry-After": str(self.retry_after)}
        self._refuse(503, "Too many connections; retry later.", headers, reason="max_connections")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._over_cap:
            self._refuse_over_cap()
            return
        self._unset_keepalive_if_required()
        self._began_here = False
        self._chunk_bytes = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refusal):
                self._refuse(cause.status, cause.detail, reason=cause.reason)
            else:
                self._framing_error(str(exc))
            return
        except _Refusal as refusal:
            self._refuse(refusal.status, refusal.detail, reason=refusal.reason)
            return
        if self._in_headers and not (self._began_here and self._messages > 1):
            # Every byte since the request began is header so far: bound it before
            # httptools buffers more (the exact size is checked once the headers end).
            # A later request that began in this chunk may share it with the previous
            # request's body (pipelining): its count starts with the next chunk.
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(
                    431,
                    f"The request headers exceed {self.max_header_bytes} bytes.",
                    reason="headers_too_large",
                )

    def _framing_error(self, reason: str) -> None:
        log.info("ingress.bad_http", client=_peer(self.client), reason=reason)
        if self.cycle is not None and not self.cycle.response_complete:
            # The app is answering this request already: it hears of a disconnect instead.
            EDGE_REFUSALS.labels("closed", "bad_http").inc()
            self.transport.close()
            return
        self._refuse(400, f"The request is not valid HTTP/1.1 ({reason}).", reason="bad_http")

    def _refuse(
        self, status: int, detail: str, headers: dict[str, str] | None = None, *, reason: str
    ) -> None:
        """Answer with a problem and close: no request reaches the app."""
        self._disarm()
        self._in_headers = False
        if self.transport.is_closing():
            return
        EDGE_REFUSALS.labels(str(status), reason).inc()
        response = problem(status, detail, headers)
        lines = [STATUS_LINE.get(status) or f"HTTP/1.1 {status} \r\n".encode()]
        for name, value in [*self.server_state.default_headers, *response.raw_headers]:
            lines.extend([name, b": ", value, b"\r\n"])
        lines.extend([b"connection: close\r\n\r\n", bytes(response.body)])
        self.transport.write(b"".join(lines))
        self.transport.close()

    # ---- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._messages += 1
        self._began_here = True
        self._in_headers = True
        self._header_bytes = 0
        # The first request's deadline runs from the connection; a later one's from here.
        if self._phase is None or self._phase == "keep-alive":
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self._in_headers = False
        # The headers are among the bytes counted so far plus this read: only when
        # those exceed the limit is it worth adding the headers up.
        if self._header_bytes + self._chunk_bytes > self.max_header_bytes:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.max_header_bytes:
                raise _Refusal(
                    431,
                    f"The request headers exceed {self.max_header_bytes} bytes.",
                    "headers_too_large",
                )
        self._arm(self.body_timeout, "body")
        super().on_headers_complete()
        if type(self.cycle) is RequestResponseCycle:
            # Same state, one method more (send_whole): cheaper than rebuilding the cycle.
            self.cycle.__class__ = EdgeCycle

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, with the idle deadline on the connection's one timer: uvicorn
        # creates a keep-alive timer per response and cancels it when the next
        # request arrives (~10 us per request with uvloop).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._arm(self.timeout_keep_alive, "keep-alive")


def _peer(client: tuple[str, int] | None) -> str | None:
    return f"{client[0]}:{client[1]}" if client else None
