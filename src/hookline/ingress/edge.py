"""The ingress's ASGI entry: request ids for everything, webhooks straight to their endpoint.

``POST /webhooks/{source}`` is nearly all the traffic, and Starlette's layers
(application, server-error and exception middleware, router, ``Request``)
cost about as much CPU as verifying, normalizing and publishing the delivery.
The edge does for these requests what those layers did — a 500 problem for a
crash, nothing for a client gone mid-body — and hands everything else to the
Starlette app. Request ids are given here, outside Starlette, so that even its
500 answers carry one.
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hookline.config.models import ServerSettings
from hookline.ingress.problems import problem
from hookline.ingress.request_ids import REQUEST_ID_HEADER, echoing_request_id, request_id_for
from hookline.ingress.server import EdgeCycle
from hookline.observability.context import REQUEST_ID

log = structlog.get_logger("hookline.ingress")

_PREFIX = "/webhooks/"
_METHODS = ("POST", "GET")


def webhook_source(scope: Scope) -> str | None:
    """The ``{source}`` of a ``POST`` (or ``GET``) ``/webhooks/{source}`` request, else None.

    Matches exactly what the route ``/webhooks/{source}`` matches, for requests
    the app serves at its root; anything else (other methods, trailing slashes,
    a mount under a root path) is left to the router. The endpoint answers 405
    itself for a GET to a source whose provider delivers only by POST.
    """
    if scope["method"] not in _METHODS or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(_PREFIX):
        return None
    name = path[len(_PREFIX) :]
    return name if name and "/" not in name else None


def internal_error(exc: BaseException) -> Response:
    """The one answer to a crash: logged with its traceback, a bare 500 problem to the caller."""
    log.error("ingress.internal_error", error=type(exc).__name__, exc_info=exc)
    return problem(500, "An internal error occurred.")


class IngressApp:
    """The ASGI app the server runs; ``app`` is the Starlette app behind it."""

    def __init__(
        self, app: ASGIApp, state: dict[str, Any], server_settings: ServerSettings | None = None
    ) -> None:
        self.app = app
        self.state = state
        # Read by the server's connection protocol (ingress/server.py) for its limits.
        self.server_settings = server_settings or ServerSettings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        token = REQUEST_ID.set(request_id)
        try:
            name = webhook_source(scope)
            endpoint = self.state.get("endpoint") if name is not None else None
            if name is None or endpoint is None:
                await self.app(scope, receive, echoing_request_id(send, request_id))
                return
            try:
                response = await endpoint.respond(name, scope, receive)
            except ClientDisconnect:
                return  # nobody to answer; the request line is logged already
            except Exception as exc:
                # As Starlette's server-error middleware: answer 500, then let the
                # server see the exception too.
                await _send(internal_error(exc), send, request_id)
                raise
            await _send(response, send, request_id)
        finally:
            REQUEST_ID.reset(token)


async def _send(response: Response, send: Send, request_id: str) -> None:
    # What Response.__call__ sends (none of the ingress's responses has a
    # background task), with the request id appended as for every other answer.
    headers = [*response.raw_headers, (REQUEST_ID_HEADER, request_id.encode())]
    cycle = getattr(send, "__self__", None)
    if type(cycle) is EdgeCycle:
        # Our own server (ingress/server.py): status, headers and body in one write.
        await cycle.send_whole(response.status_code, headers, bytes(response.body))
        return
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
