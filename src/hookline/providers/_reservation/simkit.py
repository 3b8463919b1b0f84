"""Simulator pieces the reservation platforms share (docs/providers/reservations.md#simulator-kit).

- :class:`SimError` — raise it in a handler to answer in the docs/providers/reservations.md#error-body-and-shared-codes error format;
- :func:`error_format` — the kit's :class:`~hookline.sandbox.ProviderFormat` for a code table;
- :class:`TokenIssuer` — the OAuth2 refresh-token endpoint and bearer checks (OpenTable, Shell);
- :func:`check_signature` — the request signature (``X-Timestamp``, ``X-Signature``) as
  the simulators check it when ``require_signature: true``;
- :func:`guard` — turns a handler that raises :class:`SimError` into a Starlette endpoint;
- :func:`bearer_checks` — the checks every OpenTable and Shell call passes.

The booking routes and callbacks the simulators share live in
:mod:`hookline.providers._reservation.simdesk`.

Simulator settings keys (``sandbox.providers.<key>`` extras): ``client_id``,
``client_secret`` (the API secret), ``refresh_token``, ``api_key``, ``api_secret``,
``require_signature``, ``account_id``, ``rotate_refresh_tokens``. A key that is
not set is not checked (any non-empty value is accepted), so a fresh sandbox works
with any credentials. With ``rotate_refresh_tokens: true`` every refresh answers a
new refresh token and only the newest one is accepted afterwards, as providers
that rotate them do.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import SimulatorSettings
from hookline.config.secrets import Secret
from hookline.http.signing import verify_signature
from hookline.providers._reservation.errors import COMMON, CodeSpec, error_body
from hookline.sandbox import ProviderFormat

__all__ = [
    "SIGNATURE_TOLERANCE_SECONDS",
    "Check",
    "Handler",
    "SimError",
    "TokenIssuer",
    "api_key_check",
    "bearer_checks",
    "error_format",
    "error_response",
    "extra",
    "guard",
    "iso",
    "json_body",
    "new_id",
    "parse_date",
    "secret_extra",
    "signature_check",
    "signed_path",
    "utcnow",
]

SIGNATURE_TOLERANCE_SECONDS = 300


class SimError(Exception):
    """An error answer in the provider's format: code → status from the code table."""

    def __init__(
        self,
        code: str,
        message: str = "",
        details: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code.replace("_", " ").lower()
        self.details = dict(details or {})
        self.status = status


def extra(settings: SimulatorSettings, key: str, default: Any = None) -> Any:
    return (settings.model_extra or {}).get(key, default)


def secret_extra(settings: SimulatorSettings, key: str) -> str | None:
    """An extra that may be a secret reference (``env:NAME``) or a plain value."""
    value = extra(settings, key)
    if value is None:
        return None
    return Secret(str(value)).get()


def error_response(codes: Mapping[str, CodeSpec], error: SimError) -> Response:
    spec = codes.get(error.code) or COMMON.get(error.code)
    status = error.status or (spec.status if spec else 400)
    retryable = spec is not None and spec.kind == "R"
    return JSONResponse(
        error_body(error.code, error.message, retryable=retryable, details=error.details),
        status_code=status,
    )


_STATUS_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


def error_format(codes: Mapping[str, CodeSpec], sample: Mapping[str, Any]) -> ProviderFormat:
    """How injected faults look: ``error_code`` picks the status from the table, ``status`` overrides."""
    table = {**COMMON, **codes}

    def render(status: int | None, code: str | None) -> Response:
        if code is None:
            code = _STATUS_CODES.get(status or 500, "INTERNAL_ERROR")
        return error_response(table, SimError(code, f"injected {code}", status=status))

    return ProviderFormat("application/json", json.dumps(sample).encode(), render)


Handler = Callable[[Request], Awaitable[Response]]
# A request check before the handler (auth, signature): raises SimError to refuse.
Check = Callable[[Request, bytes], Awaitable[None]]


def guard(
    codes: Mapping[str, CodeSpec],
    handler: Handler,
    *checks: Check,
) -> Handler:
    """Run ``checks`` (auth, signature) and ``handler``; a :class:`SimError` becomes its answer."""
    table = {**COMMON, **codes}

    async def endpoint(request: Request) -> Response:
        try:
            body = await request.body()
            for check in checks:
                await check(request, body)
            return await handler(request)
        except SimError as exc:
            return error_response(table, exc)

    return endpoint


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise SimError("INVALID_REQUEST", "body is not JSON", status=400) from exc
    if not isinstance(body, dict):
        raise SimError("INVALID_REQUEST", "body must be a JSON object", status=400)
    return body


def signed_path(request: Request) -> str:
    """The path as the client sent it (raw, with the query), which is what it signed."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (bytes(raw) + (b"?" + bytes(query) if query else b"")).decode("latin-1")


def signature_check(settings: SimulatorSettings, clock: Callable[[], float] = time.time) -> Check:
    """Checks ``X-Timestamp`` / ``X-Signature`` with the client's own function (when required)."""

    async def check(request: Request, body: bytes) -> None:
        if not extra(settings, "require_signature", False):
            return
        secret = secret_extra(settings, "api_secret") or secret_extra(settings, "client_secret")
        if secret is None:
            raise SimError(
                "SIGNATURE_INVALID", "the simulator has no api_secret to check signatures with"
            )
        ok = verify_signature(
            secret,
            request.method,
            signed_path(request),
            request.headers.get("x-timestamp", ""),
            body,
            request.headers.get("x-signature", ""),
            now=clock(),
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
        if not ok:
            raise SimError(
                "SIGNATURE_INVALID", "X-Signature does not match or X-Timestamp is stale"
            )

    return check


def api_key_check(settings: SimulatorSettings, header: str) -> Check:
    async def check(request: Request, body: bytes) -> None:
        presented = request.headers.get(header)
        wanted = secret_extra(settings, "api_key")
        if not presented or (wanted is not None and not hmac.compare_digest(presented, wanted)):
            raise SimError("UNAUTHORIZED", f"{header} missing or wrong")

    return check


@dataclass
class TokenIssuer:
    """OAuth2 refresh-token grant (docs/providers/reservations.md#request-signing) and bearer validation."""

    settings: SimulatorSettings
    clock: Callable[[], float] = time.time
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (client, expiry)
    issued: int = 0
    refused: int = 0  # refresh requests answered invalid_grant
    # After a rotation the only refresh token accepted (rotate_refresh_tokens).
    current_refresh: str | None = None

    def reset(self) -> None:
        self.tokens.clear()
        self.issued = 0
        self.refused = 0
        self.current_refresh = None

    async def token_endpoint(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, which we do not ship.
        fields = dict(
            parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        )
        if fields.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        for name in ("refresh_token", "client_id", "client_secret"):
            wanted = secret_extra(self.settings, name)
            if name == "refresh_token" and self.current_refresh is not None:
                wanted = self.current_refresh
            value = fields.get(name, "")
            if not value or (wanted is not None and not hmac.compare_digest(value, wanted)):
                error = "invalid_grant" if name == "refresh_token" else "invalid_client"
                self.refused += error == "invalid_grant"
                return JSONResponse(
                    {"error": error}, status_code=400 if error == "invalid_grant" else 401
                )
        token = "at_" + secrets.token_urlsafe(24)
        ttl = self.settings.token_ttl_seconds
        self.tokens[token] = (fields["client_id"], self.clock() + ttl)
        self.issued += 1
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
        if extra(self.settings, "rotate_refresh_tokens"):
            self.current_refresh = answer["refresh_token"] = "rt_" + secrets.token_urlsafe(24)
        return JSONResponse(answer)

    async def reissue(self, request: Request) -> Response:
        """``POST /_sim/tokens/reissue``: the account consented again. A new refresh token is
        the only one accepted from now on and every access token is revoked; the answer
        holds the new refresh token, as the provider's console shows it to the operator."""
        self.tokens.clear()
        self.current_refresh = "rt_" + secrets.token_urlsafe(24)
        return JSONResponse({"refresh_token": self.current_refresh}, status_code=201)

    def client_of(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        entry = self.tokens.get(token)
        if entry is None:
            # Tokens the account was handed out of band (extra ``access_tokens``:
            # token → client), as a client configured with a pre-issued token uses them.
            issued = extra(self.settings, "access_tokens") or {}
            return str(issued[token]) if token in issued else None
        if entry[1] <= self.clock():
            return None
        return entry[0]

    async def bearer_check(self, request: Request, body: bytes) -> None:
        if self.client_of(request) is None:
            raise SimError("UNAUTHORIZED", "bearer token missing, unknown or expired")

    async def credential(self, request: Request) -> str:
        # Idempotency is scoped to the client, not the token: a key keeps replaying across refreshes.
        client = self.client_of(request)
        return f"client:{client}" if client else "token:" + request.headers.get("authorization", "")

    def state(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "tokens": {
                "issued": self.issued,
                "refused": self.refused,
                "active": sum(1 for _, exp in self.tokens.values() if exp > now),
            }
        }


def bearer_checks(tokens: TokenIssuer, settings: SimulatorSettings) -> tuple[Check, ...]:
    """What every OpenTable and Shell call passes: a live bearer, ``X-Api-Key``, the signature."""
    return (tokens.bearer_check, api_key_check(settings, "x-api-key"), signature_check(settings))


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_date(value: Any, field_name: str, code: str = "INVALID_REQUEST") -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SimError(code, f"{field_name} must be YYYY-MM-DD", {"field": field_name}) from exc


def new_id(prefix: str, counter: int) -> str:
    return f"{prefix}{counter:04x}{secrets.token_hex(2)}"
