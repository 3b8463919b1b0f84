"""OAuth2 access tokens as an httpx auth flow: client credentials and refresh token.

- A token is used until ``expires_in`` minus the refresh buffer (at most half
  its lifetime, so a short-lived token is not refreshed on every call), then
  fetched again before the provider would reject it.
- Concurrent calls share one fetch (single flight): the first caller starts it,
  the others await the same task.
- A ``401`` from the API triggers exactly one refresh and one resend; a second
  ``401`` is the caller's error to see.
- The token endpoint is retried on 5xx / 429 / network errors with the
  provider's retry policy; a refusal (400 ``invalid_grant``, 401
  ``invalid_client``) is permanent and says so.
- A token remembers the client credentials it was fetched with: when a
  ``file:`` client secret rotates, the next call fetches a new token with the
  new secret instead of using one the old secret obtained.
- Every fetch (after its retries) is an outbound call like any other: one
  ``http.call`` / ``http.call_failed`` line and, inside a handler, one audit
  record (endpoint ``oauth.token``, the token URL's path without its query)
  under the command whose call needed the token. Neither holds the form, the
  answer or any header: no secret, no token.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog

from hookline.config.secrets import Credential, current
from hookline.http import metrics
from hookline.http.audit import Call, finished
from hookline.http.clock import CALL_DEADLINE, SYSTEM_CLOCK, Clock
from hookline.http.errors import (
    AuthFailed,
    Fate,
    TokenUnavailable,
    common_error_fields,
    fate_for_status,
    json_body,
)
from hookline.http.retry import RetryPolicy
from hookline.observability import exemplars

log = structlog.get_logger("hookline.http")

DEFAULT_EXPIRES_IN = 3600.0


class Grant(Protocol):
    """What to post to the token endpoint, and what to keep from its answer."""

    token_url: str

    async def begin(self) -> None:
        """Called before each token request (a refresh grant loads the newest refresh token)."""

    def form(self) -> dict[str, str]: ...

    def identity(self) -> tuple[str, ...]:
        """The client credentials in use now; a token fetched with others is not used."""

    async def update(self, answer: dict[str, Any]) -> None: ...

    async def newer(self) -> bool:
        """After a refusal: whether a newer credential turned up to try once more."""


class RefreshTokenStore(Protocol):
    """Where a rotated refresh token is kept beyond this process (Redis, shared by replicas)."""

    async def load(self) -> str | None: ...

    async def save(self, token: str) -> None: ...

    async def adopt(self, configured: str) -> str:
        """A new configured refresh token: it becomes the newest, unless a replica adopted it
        already (then whatever that replica's refreshes rotated it to); the token to use."""


class ClientCredentialsGrant:
    """``grant_type=client_credentials`` with the client id and secret in the form (Colt)."""

    def __init__(
        self,
        token_url: str,
        client_id: Credential,
        client_secret: Credential,
        scope: str | None = None,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.scope = scope

    def identity(self) -> tuple[str, ...]:
        return (current(self._client_id), current(self._client_secret))

    def form(self) -> dict[str, str]:
        client_id, client_secret = self.identity()
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        return form

    async def begin(self) -> None:
        return None

    async def update(self, answer: dict[str, Any]) -> None:
        return None

    async def newer(self) -> bool:
        return False


class RefreshTokenGrant:
    """``grant_type=refresh_token`` (OpenTable, Shell Recharge); a rotated refresh token replaces ours.

    A provider that rotates refresh tokens may refuse the old one from then on.
    Kept only in memory, the rotated token would be lost with a restart (the
    configured one then answers ``invalid_grant``) and unknown to the other
    replicas. With a ``store`` (Redis when ``redis_url`` is set) every refresh
    starts from the newest token any replica saved, and a refusal waits briefly
    for a rotation another replica is saving right now before it counts.

    The configured refresh token is read again before each refresh: when a
    ``file:`` one changed (the operator issued a new one), it replaces whatever
    the provider rotated ours to, once for all replicas (the store remembers
    which configured value it adopted, so a replica that sees the file later
    does not undo the rotations made since).
    """

    def __init__(
        self,
        token_url: str,
        refresh_token: Credential,
        client_id: Credential | None = None,
        client_secret: Credential | None = None,
        scope: str | None = None,
        *,
        store: RefreshTokenStore | None = None,
        provider: str = "",
        newer_wait: float = 1.0,
    ) -> None:
        self.token_url = token_url
        self._configured = refresh_token
        self._configured_seen: str | None = None  # adopted at the first refresh
        self._refresh_token = current(refresh_token)
        self._client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self._store = store
        self._provider = provider
        self._newer_wait = newer_wait

    async def _load(self) -> str | None:
        if self._store is None:
            return None
        try:
            return await self._store.load()
        except Exception as exc:  # the store is a help, not a dependency of every call
            log.warning(
                "http.refresh_token_store_failed",
                provider=self._provider,
                op="load",
                error=type(exc).__name__,
            )
            return None

    async def begin(self) -> None:
        configured = current(self._configured)
        if configured != self._configured_seen:
            replaced = self._configured_seen is not None
            self._configured_seen = configured
            self._refresh_token = await self._adopt(configured)
            if replaced:
                log.info("http.refresh_token_replaced", provider=self._provider)
            return
        latest = await self._load()
        if latest:
            self._refresh_token = latest

    async def _adopt(self, configured: str) -> str:
        if self._store is None:
            return configured
        try:
            return await self._store.adopt(configured)
        except Exception as exc:
            log.warning(
                "http.refresh_token_store_failed",
                provider=self._provider,
                op="adopt",
                error=type(exc).__name__,
            )
            return configured

    def identity(self) -> tuple[str, ...]:
        return tuple(
            current(value) if value is not None else ""
            for value in (self._client_id, self._client_secret)
        )

    def form(self) -> dict[str, str]:
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        client_id, client_secret = self.identity()
        if client_id:
            form["client_id"] = client_id
        if client_secret:
            form["client_secret"] = client_secret
        if self.scope:
            form["scope"] = self.scope
        return form

    async def update(self, answer: dict[str, Any]) -> None:
        rotated = answer.get("refresh_token")
        if not isinstance(rotated, str) or not rotated or rotated == self._refresh_token:
            return
        self._refresh_token = rotated
        if self._store is not None:
            try:
                await self._store.save(rotated)
            except Exception as exc:
                log.warning(
                    "http.refresh_token_store_failed",
                    provider=self._provider,
                    op="save",
                    error=type(exc).__name__,
                )
        log.info("http.refresh_token_rotated", provider=self._provider)

    async def newer(self) -> bool:
        if self._store is None:
            return False
        used = self._refresh_token
        deadline = asyncio.get_running_loop().time() + self._newer_wait
        while True:
            latest = await self._load()
            if latest and latest != used:
                self._refresh_token = latest
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)


class _EndpointBusy(Exception):
    """One token request failed in a way worth retrying."""

    def __init__(
        self,
        reason: str,
        status: int | None = None,
        headers: httpx.Headers | None = None,
        outcome: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.headers = headers
        # The metrics' status class: 5xx, 4xx, network, timeout.
        self.outcome = outcome or (metrics.status_class(status) if status else "network")


class _TokenFetchFailed(Exception):
    """A fetch gave up: the error its callers see, and what the audit record says."""

    def __init__(
        self, error: AuthFailed | TokenUnavailable, status: int | None, outcome: str
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.outcome = outcome


@dataclass(frozen=True)
class AccessToken:
    value: str
    refresh_at: float  # monotonic; after this the token is fetched again
    fetched_with: tuple[str, ...] = ()  # the grant's identity() when it was fetched

    def __repr__(self) -> str:  # never show the token itself
        return f"AccessToken(refresh_at={self.refresh_at:.1f})"


class TokenSource:
    """Fetches, caches and refreshes one provider's access token (single flight)."""

    def __init__(
        self,
        provider: str,
        grant: Grant,
        *,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        refresh_buffer: float = 300.0,
        clock: Clock = SYSTEM_CLOCK,
        initial: str | None = None,
    ) -> None:
        self.provider = provider
        self.grant = grant
        self.http = http
        self.policy = policy
        self.refresh_buffer = refresh_buffer
        self.clock = clock
        self.fetches = 0  # successful token fetches, for tests and state
        # A pre-issued token has no known expiry: it is used until the API refuses it
        # (a 401 passes it back as ``stale``), then the grant fetches a new one.
        self._token: AccessToken | None = (
            AccessToken(initial, math.inf, grant.identity()) if initial else None
        )
        self._inflight: asyncio.Task[AccessToken] | None = None

    async def token(self, stale: str | None = None) -> str:
        """A valid access token; ``stale`` is one the provider just refused (never returned again)."""
        cached = self._token
        if (
            cached is not None
            and cached.value != stale
            and self.clock.monotonic() < cached.refresh_at
            and cached.fetched_with == self.grant.identity()
        ):
            return cached.value
        if self._inflight is None:
            task = asyncio.create_task(self._fetch(), name=f"token-{self.provider}")
            task.add_done_callback(self._fetched)
            self._inflight = task
        # shield: one impatient caller must not cancel the fetch the others wait for.
        fresh = await asyncio.shield(self._inflight)
        return fresh.value

    def invalidate(self) -> None:
        self._token = None

    def _fetched(self, task: asyncio.Task[AccessToken]) -> None:
        self._inflight = None
        if task.cancelled():
            return
        error = task.exception()  # also marks it retrieved when every waiter was cancelled
        if error is None:
            self._token = task.result()

    async def _fetch(self) -> AccessToken:
        """One token, fetched with retries, and told as one outbound call (audit and log)."""
        started = self.clock.monotonic()
        attempts = [0]
        try:
            token = await self._fetch_retrying(started, attempts)
        except _TokenFetchFailed as failed:
            self._audit(started, attempts[0], failed.status, failed.outcome, failed.error)
            raise failed.error from failed.error.__cause__
        self._audit(started, attempts[0], 200, "ok", None)
        return token

    def _audit(
        self,
        started: float,
        attempts: int,
        status: int | None,
        outcome: str,
        error: AuthFailed | TokenUnavailable | None,
    ) -> None:
        latency_ms = round((self.clock.monotonic() - started) * 1000, 1)
        call = Call(
            self.provider, "oauth.token", "POST", httpx.URL(self.grant.token_url).path,
            status, attempts, latency_ms, outcome,
            type(error).__name__ if error is not None else None,
            error.code if error is not None else None,
        )  # fmt: skip
        finished(call, retry_after=getattr(error, "retry_after", None))

    async def _fetch_retrying(self, started: float, attempts: list[int]) -> AccessToken:
        attempt = 0
        deadline = CALL_DEADLINE.get()
        retried_refusal = False
        await self.grant.begin()
        while True:
            attempt += 1
            attempts[0] = attempt
            try:
                token = await self._fetch_once()
            except _EndpointBusy as exc:
                now = self.clock.monotonic()
                remaining = (
                    deadline if deadline is not None else started + self.policy.deadline
                ) - now
                decision = self.policy.decide(
                    attempt=attempt,
                    retryable=True,
                    may_repeat=True,
                    status=exc.status,
                    headers=exc.headers,
                    now=self.clock.time(),
                    remaining=remaining,
                )
                if not decision.retry:
                    metrics.TOKEN_REFRESHES.labels(self.provider, "unavailable").inc(
                        exemplar=exemplars.current()
                    )
                    log.warning(
                        "http.token_failed",
                        provider=self.provider,
                        attempts=attempt,
                        status=exc.status,
                        reason=decision.reason,
                    )
                    unavailable = TokenUnavailable(
                        f"token endpoint of {self.provider} unavailable after {attempt} attempt(s): {exc}",
                        status=exc.status,
                        retry_after=decision.delay,
                        code="TOKEN_ENDPOINT_UNAVAILABLE",
                    )
                    unavailable.__cause__ = exc
                    raise _TokenFetchFailed(unavailable, exc.status, exc.outcome) from exc
                await self.clock.sleep(decision.delay)
                continue
            except AuthFailed as refused:
                if not retried_refusal and await self.grant.newer():
                    # Another replica rotated the refresh token under us: once more with it.
                    retried_refusal = True
                    continue
                metrics.TOKEN_REFRESHES.labels(self.provider, "rejected").inc(
                    exemplar=exemplars.current()
                )
                status = getattr(refused, "status", None)
                outcome = metrics.status_class(status) if status else "auth"
                raise _TokenFetchFailed(refused, status, outcome) from None
            self.fetches += 1
            metrics.TOKEN_REFRESHES.labels(self.provider, "ok").inc(exemplar=exemplars.current())
            return token

    async def _fetch_once(self) -> AccessToken:
        identity = self.grant.identity()
        try:
            response = await self.http.post(
                self.grant.token_url, data=self.grant.form(), headers={"Accept": "application/json"}
            )
        except httpx.TransportError as exc:
            outcome = "timeout" if isinstance(exc, httpx.TimeoutException) else "network"
            raise _EndpointBusy(
                f"{type(exc).__name__} calling the token endpoint", outcome=outcome
            ) from exc
        body = json_body(response)
        fate = fate_for_status(response.status_code)
        if fate is not None:
            code, message, _ = common_error_fields(body)
            if fate is Fate.RETRYABLE:
                raise _EndpointBusy(
                    f"token endpoint answered {response.status_code}",
                    response.status_code,
                    response.headers,
                )
            log.error(
                "http.token_rejected",
                provider=self.provider,
                status=response.status_code,
                code=code,
            )
            raise AuthFailed(
                f"token endpoint of {self.provider} refused the credentials "
                f"(HTTP {response.status_code} {code or 'error'}"
                + (f": {message})" if message else ")"),
                status=response.status_code,
                code=code or "TOKEN_REJECTED",
            )
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise _EndpointBusy(
                "token endpoint answered without an access_token", response.status_code
            )
        await self.grant.update(body)
        try:
            expires_in = float(body.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        buffer = min(self.refresh_buffer, expires_in / 2)
        log.info("http.token_refreshed", provider=self.provider, expires_in=expires_in)
        return AccessToken(
            body["access_token"], self.clock.monotonic() + expires_in - buffer, identity
        )


class OAuth2Auth(httpx.Auth):
    """``Authorization: Bearer …`` from a :class:`TokenSource`; one refresh-and-resend on 401."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2Auth needs httpx.AsyncClient")
        yield request  # pragma: no cover - makes this a generator

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.tokens.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            log.info("http.token_rejected_by_api", provider=self.tokens.provider)
            token = await self.tokens.token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


__all__ = [
    "AccessToken",
    "ClientCredentialsGrant",
    "Grant",
    "OAuth2Auth",
    "RefreshTokenGrant",
    "TokenSource",
]
