"""One resilient client per provider API.

A call goes through, in this order::

    cache (GET) → [attempt: breaker fail-fast → rate limit → concurrency → breaker
    admission → connection slot → httpx (auth flow: token, 401 refresh, signing) →
    error map → breaker outcome] → retry policy → result or one typed error

The connection slot (``limits.max_connections`` of them) keeps requests from
queueing inside httpx's pool: httpcore re-examines every queued request against
every pooled connection whenever a request comes or goes, so a queue there costs
CPU quadratic in its length; here it is a semaphore's FIFO. And the connections
are split over pools of :data:`SHARD_CONNECTIONS`: whenever a request comes or
goes, httpcore also checks each connection of its pool (for every idle one a
``getpeername`` and a readability poll, and a count of the pool per idle one),
so one pool of 32 costs far more per request than the few connections a steady
stream keeps busy. A request takes the first pool with a free slot, so the
first pools stay warm and the others' idle connections are not looked at.

It raises only :class:`~hookline.errors.ProviderUnavailable` (retryable: 5xx,
429, 408, timeouts, connection errors, a rate-limit wait past the deadline),
:class:`~hookline.errors.CircuitOpenError` and
:class:`~hookline.errors.ProviderRejected` (never retried), each with the
provider's code kept; ``retry_after`` tells the worker how long to park a
retryable failure. A provider client holds only endpoint methods on top.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hookline.config.models import ProviderSettings
from hookline.config.redis_auth import redis_from_url
from hookline.config.secrets import Secret
from hookline.errors import CircuitOpenError, HooklineError, RetryableError
from hookline.http import metrics
from hookline.http.audit import Call, finished
from hookline.http.auth import build_auth, token_source
from hookline.http.breaker import Admission, CircuitBreaker
from hookline.http.breaker_redis import RedisBreakerStore
from hookline.http.cache import (
    CachedResponse,
    MemoryCache,
    RedisCache,
    ResponseCache,
    TtlTable,
    cache_key,
)
from hookline.http.clock import CALL_DEADLINE, SYSTEM_CLOCK, Clock
from hookline.http.errors import (
    DEFAULT_ERROR_MAP,
    AuthFailed,
    ErrorMap,
    TokenUnavailable,
    Unavailable,
)
from hookline.http.oauth import TokenSource
from hookline.http.ratelimit import (
    MemoryWindowStore,
    RateLimiter,
    RateLimitWaitTooLong,
    RedisWindowStore,
    WindowStore,
)
from hookline.http.registry import BREAKERS, REDIS_PREFIX, BreakerRegistry
from hookline.http.retry import IDEMPOTENT_METHODS, RetryPolicy
from hookline.http.token_store import RedisRefreshTokenStore
from hookline.observability import exemplars, tracing

log = structlog.get_logger("hookline.http")

USER_AGENT = "hookline/0.1 (+https://github.com/hookline/hookline)"


@dataclass
class _Failed(Exception):
    """One attempt's failure, with what the retry policy needs to judge it."""

    error: HooklineError
    status_class: str
    status: int | None = None
    headers: httpx.Headers | None = None
    inline: bool = False  # may be retried inside this call
    not_processed: bool = False  # the provider provably did nothing (safe to repeat any method)


def _counts_against_breaker(error: HooklineError | None, status: int | None) -> bool:
    """Retryable outcomes and refused credentials count; business 4xx do not."""
    if error is None:
        return False
    return isinstance(error, (RetryableError, AuthFailed)) or status in (401, 407)


_TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


@functools.cache
def tls_context(min_version: str) -> ssl.SSLContext:
    """The system's trust store, certificate and host checks on, nothing older than ``min_version``.

    One per version, shared by every client of the process: loading the trust
    store costs milliseconds, and a context is safe to share.
    """
    context = ssl.create_default_context()
    context.minimum_version = _TLS_VERSIONS[min_version]
    return context


# Connections per httpx pool (see the module doc): small enough that httpcore's per-request
# pass over the pool stays cheap, large enough that a quiet provider keeps one pool.
SHARD_CONNECTIONS = 4


class ApiClient:
    """A provider API behind retries, a circuit breaker, rate limits, auth and a GET cache."""

    breaker: CircuitBreaker

    def __init__(
        self,
        name: str,
        settings: ProviderSettings,
        *,
        errors: ErrorMap | None = None,
        redis_url: Secret | str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | None = None,
        registry: BreakerRegistry | None = None,
        redis_prefix: str = REDIS_PREFIX,
    ) -> None:
        self.name = name
        self.settings = settings
        self.errors: ErrorMap = errors if errors is not None else DEFAULT_ERROR_MAP
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.policy = RetryPolicy.from_settings(settings.retry)
        self._timeout = httpx.Timeout(
            settings.timeout_seconds, connect=settings.connect_timeout_seconds
        )
        connections = settings.limits.max_connections
        # At most as many requests in httpx's pools as they have connections (module doc).
        self._slots = asyncio.Semaphore(connections)
        # A given transport is one pool (it pools, or does not, itself).
        sizes = (
            [connections]
            if transport is not None
            else [
                min(SHARD_CONNECTIONS, connections - n)
                for n in range(0, connections, SHARD_CONNECTIONS)
            ]
        )
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        tls = tls_context(settings.tls.min_version)
        self._shards = [
            httpx.AsyncClient(
                base_url=settings.base_url,
                timeout=self._timeout,
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                transport=transport,
                headers=headers,
                verify=tls,
            )
            for size in sizes
        ]
        self._free = list(sizes)  # free slots per pool
        self._http = self._shards[0]
        self._token_http = httpx.AsyncClient(
            timeout=self._timeout, transport=transport, headers=headers, verify=tls
        )
        self._redis: Redis | None = redis_from_url(redis_url) if redis_url else None
        self.auth: httpx.Auth | None = (
            auth
            if auth is not None
            else build_auth(
                name,
                settings.auth,
                token_http=self._token_http,
                policy=self.policy,
                clock=self.clock,
                refresh_tokens=(
                    RedisRefreshTokenStore(self._redis, name, prefix=redis_prefix)
                    if self._redis is not None
                    else None
                ),
            )
        )
        self.tokens: TokenSource | None = token_source(self.auth)

        window: WindowStore
        cache: ResponseCache
        if self._redis is not None:
            store = RedisBreakerStore(self._redis, name, settings.breaker, prefix=redis_prefix)
            self.breaker = CircuitBreaker(name, settings.breaker, store, self.clock)
            window = RedisWindowStore(self._redis, name, prefix=redis_prefix)
            cache = RedisCache(self._redis, name, prefix=redis_prefix)
        else:
            self.breaker = CircuitBreaker(name, settings.breaker, clock=self.clock)
            window = MemoryWindowStore(self.clock)
            cache = MemoryCache(clock=self.clock)
        self.limiter = RateLimiter(settings.limits, window, self.clock)
        self.cache = cache
        self._ttls = TtlTable(settings.cache)
        self._registry = registry if registry is not None else BREAKERS
        self._registry.register(self.breaker)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._registry.unregister(self.breaker)
        for shard in self._shards:
            await shard.aclose()
        await self._token_http.aclose()
        await self.cache.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        cache_ttl: float | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """Call the provider; a 2xx response, or one typed error.

        ``endpoint`` labels metrics and logs (``"orders.submit"``); ``deadline``
        is this call's total budget in seconds (default ``retry.deadline_seconds``).
        """
        method = method.upper()
        label = endpoint or method.lower()
        started = self.clock.monotonic()
        call_deadline = started + (deadline if deadline is not None else self.policy.deadline)
        ttl = cache_ttl if cache_ttl is not None else self._ttls.ttl_for(path)
        key = cache_key(path, params) if method == "GET" and ttl else None
        if key is not None:
            cached = await self._cache_get(key)
            metrics.CACHE.labels(self.name, "miss" if cached is None else "hit").inc()
            if cached is not None:
                self._log_call(label, method, path, cached.status, 0, started, outcome="cached")
                return cached.to_response(self._http.build_request(method, path, params=params))

        send_headers = dict(headers or {})
        if idempotency_key is not None:
            send_headers["Idempotency-Key"] = idempotency_key
        repeatable = method in IDEMPOTENT_METHODS or idempotency_key is not None
        context = CALL_DEADLINE.set(call_deadline)
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    response = await self._attempt(
                        method,
                        path,
                        label,
                        call_deadline,
                        json=json,
                        data=data,
                        params=params,
                        headers=send_headers,
                    )
                except _Failed as failed:
                    decision = self.policy.decide(
                        attempt=attempt,
                        retryable=failed.inline,
                        may_repeat=repeatable or failed.not_processed,
                        status=failed.status,
                        headers=failed.headers,
                        now=self.clock.time(),
                        remaining=call_deadline - self.clock.monotonic(),
                    )
                    error = failed.error
                    if isinstance(error, RetryableError) and failed.inline:
                        error.retry_after = decision.delay
                    if not decision.retry:
                        self._log_call(
                            label,
                            method,
                            path,
                            failed.status,
                            attempt,
                            started,
                            outcome=failed.status_class,
                            error=error,
                            reason=decision.reason,
                        )
                        raise error from error.__cause__
                    metrics.RETRIES.labels(self.name, label, failed.status_class).inc()
                    log.debug(
                        "http.retry_scheduled",
                        provider=self.name,
                        endpoint=label,
                        attempt=attempt,
                        status=failed.status,
                        delay_ms=round(decision.delay * 1000),
                    )
                    await self.clock.sleep(decision.delay)
                    continue
                self._log_call(
                    label, method, path, response.status_code, attempt, started, outcome="ok"
                )
                if key is not None and ttl:
                    await self._cache_set(key, CachedResponse.of(response), ttl)
                return response
        finally:
            CALL_DEADLINE.reset(context)

    async def _attempt(
        self,
        method: str,
        path: str,
        label: str,
        call_deadline: float,
        *,
        json: Any,
        data: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        try:
            self.breaker.fail_fast()
            await self._wait_for_limits(call_deadline)
        except CircuitOpenError as exc:
            self._count(label, "circuit_open")
            raise _Failed(exc, "circuit_open") from None
        except RedisError as exc:
            raise self._coordination_failed(label, exc) from None
        try:
            try:
                admission = await self.breaker.allow()
            except CircuitOpenError as exc:
                self._count(label, "circuit_open")
                raise _Failed(exc, "circuit_open") from None
            except RedisError as exc:
                raise self._coordination_failed(label, exc) from None
            return await self._exchange(
                method,
                path,
                label,
                call_deadline,
                admission,
                json=json,
                data=data,
                params=params,
                headers=headers,
            )
        finally:
            self.limiter.leave()

    async def _wait_for_limits(self, call_deadline: float) -> None:
        try:
            waited = await self.limiter.wait_for_slot(call_deadline - self.clock.monotonic())
            await self.limiter.enter(call_deadline - self.clock.monotonic())
        except RateLimitWaitTooLong as exc:
            metrics.RATE_LIMIT_REJECTIONS.labels(self.name).inc()
            error = Unavailable(
                f"client-side rate limit for {self.name}: the wait would pass the deadline",
                retry_after=exc.wait,
                code="RATE_LIMITED_LOCALLY",
            )
            raise _Failed(error, "rate_limited") from None
        if waited > 0:
            metrics.RATE_LIMIT_WAIT.labels(self.name).observe(waited)

    async def _exchange(
        self,
        method: str,
        path: str,
        label: str,
        call_deadline: float,
        admission: Admission,
        *,
        json: Any,
        data: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        remaining = max(call_deadline - self.clock.monotonic(), 0.001)
        timeout = httpx.Timeout(
            min(self.settings.timeout_seconds, remaining),
            connect=min(self.settings.connect_timeout_seconds, remaining),
        )
        sent = self.clock.monotonic()
        span = self._start_span(method, path, label) if tracing.ENABLED else None
        if span is not None:
            headers = dict(headers)
            with trace.use_span(span, end_on_exit=False):
                tracing.inject(headers)
        try:
            shard = await self._take_slot(timeout)
            try:
                response = await self._shards[shard].request(
                    method,
                    path,
                    json=json,
                    data=data,
                    params=params,
                    headers=headers,
                    auth=self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=timeout,
                )
            finally:
                self._free[shard] += 1
                self._slots.release()
        except BaseException as exc:
            if span is not None:
                tracing.mark_error(span, exc)
                span.end()
            return await self._exchange_failed(exc, admission, label, sent)
        if span is not None:
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
        return await self._answered(response, admission, label, sent)

    async def _take_slot(self, timeout: httpx.Timeout) -> int:
        """A connection slot, waiting at most the pool timeout httpx would have waited;
        returns the pool to send on (the first with a free slot)."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(timeout.pool):
                    await self._slots.acquire()
            except TimeoutError:
                # What httpx raises for a pool wait that ran out: not sent, safe to repeat.
                raise httpx.PoolTimeout("no connection slot within the pool timeout") from None
        else:
            await self._slots.acquire()
        # The semaphore counts the free slots of all pools: one has a slot.
        shard = next(i for i, free in enumerate(self._free) if free)
        self._free[shard] -= 1
        return shard

    def _start_span(self, method: str, path: str, label: str) -> Span:
        """A client span for one attempt (HTTP semantic conventions), child of the current span."""
        url = self._http.base_url.join(path)
        return tracing.start_span(
            f"{method} {label}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80),
                "url.path": url.path,
                "hookline.provider": self.name,
                "hookline.endpoint": label,
            },
        )

    async def _exchange_failed(
        self, exc: BaseException, admission: Admission, label: str, sent: float
    ) -> httpx.Response:
        """No answer: what the exception means for the breaker, metrics and the retry policy."""
        if isinstance(
            exc, HooklineError
        ):  # from the auth flow: the token endpoint failed or refused
            await self._record(admission, success=False)
            self._count(label, "auth")
            raise _Failed(exc, "auth", status=getattr(exc, "status", None)) from None
        if not isinstance(exc, httpx.RequestError):
            raise exc  # cancellation, or a bug: not the provider's doing
        await self._record(admission, success=False)
        timed_out = isinstance(exc, httpx.TimeoutException)
        self._count(label, "timeout" if timed_out else "network")
        self._latency(label, sent)
        failure = Unavailable(
            f"{type(exc).__name__} calling {self.name} {label}",
            code="TIMEOUT" if timed_out else "NETWORK",
        )
        failure.__cause__ = exc
        not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        raise _Failed(
            failure, "timeout" if timed_out else "network", inline=True, not_processed=not_sent
        ) from None

    async def _answered(
        self, response: httpx.Response, admission: Admission, label: str, sent: float
    ) -> httpx.Response:
        status = response.status_code
        self._latency(label, sent)
        self._count(label, metrics.status_class(status))
        error = self.errors.classify(response)
        await self._record(admission, success=not _counts_against_breaker(error, status))
        if error is None:
            return response
        raise _Failed(
            error,
            metrics.status_class(status),
            status=status,
            headers=response.headers,
            inline=error.retryable and not isinstance(error, (CircuitOpenError, TokenUnavailable)),
            # A 429 was refused before any work was done.
            not_processed=status == 429,
        )

    def _count(self, label: str, status_class: str) -> None:
        # The exemplar names the command (and request, trace) this attempt served.
        metrics.REQUESTS.labels(self.name, label, status_class).inc(exemplar=exemplars.current())

    def _latency(self, label: str, sent: float) -> None:
        metrics.LATENCY.labels(self.name, label).observe(
            self.clock.monotonic() - sent, exemplar=exemplars.current()
        )

    def _coordination_failed(self, label: str, exc: RedisError) -> _Failed:
        # Shared limits and breaker state are unknown: calling anyway could break the provider's
        # limits for every replica, so the call is refused as retryable (like the ingress's dedup).
        self._count(label, "redis_unavailable")
        log.warning("http.redis_unavailable", provider=self.name, error=type(exc).__name__)
        error = Unavailable(
            f"Redis is unreachable: {self.name}'s shared breaker and rate limit cannot be checked",
            retry_after=self.settings.retry.base_delay_ms / 1000 or 1.0,
            code="REDIS_UNAVAILABLE",
        )
        error.__cause__ = exc
        return _Failed(error, "redis_unavailable")

    async def _record(self, admission: Admission, *, success: bool) -> None:
        # The provider has answered: losing the breaker update must not lose that answer.
        try:
            await self.breaker.record(admission, success)
        except RedisError as exc:
            log.warning("http.breaker_record_failed", provider=self.name, error=type(exc).__name__)

    async def _cache_get(self, key: str) -> CachedResponse | None:
        try:
            return await self.cache.get(key)
        except RedisError as exc:
            log.warning("http.cache_unavailable", provider=self.name, error=type(exc).__name__)
            return None

    async def _cache_set(self, key: str, value: CachedResponse, ttl: float) -> None:
        try:
            await self.cache.set(key, value, ttl)
        except RedisError as exc:
            log.warning("http.cache_unavailable", provider=self.name, error=type(exc).__name__)

    def _log_call(
        self,
        endpoint: str,
        method: str,
        path: str,
        status: int | None,
        attempts: int,
        started: float,
        *,
        outcome: str,
        error: HooklineError | None = None,
        reason: str | None = None,
    ) -> None:
        latency_ms = round((self.clock.monotonic() - started) * 1000, 1)
        call = Call(
            self.name, endpoint, method, path, status, attempts, latency_ms, outcome,
            type(error).__name__ if error is not None else None, getattr(error, "code", None),
        )  # fmt: skip
        finished(call, reason=reason, retry_after=getattr(error, "retry_after", None))
