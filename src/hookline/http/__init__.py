"""The outbound HTTP stack every provider client is built on (see ``docs/http.md``)."""

from __future__ import annotations

from hookline.http.auth import ApiKeyAuth, AuthChain, BasicAuth, FormCredentialsAuth, build_auth
from hookline.http.breaker import CircuitBreaker, MemoryBreakerStore
from hookline.http.breaker_redis import RedisBreakerStore
from hookline.http.client import ApiClient
from hookline.http.clock import Clock, ManualClock, SystemClock
from hookline.http.errors import (
    AUTH,
    PERMANENT,
    RETRYABLE,
    AuthFailed,
    CodeMap,
    ErrorMap,
    Fate,
    Rejected,
    StatusErrorMap,
    TokenUnavailable,
    Unavailable,
)
from hookline.http.oauth import ClientCredentialsGrant, OAuth2Auth, RefreshTokenGrant, TokenSource
from hookline.http.registry import BREAKERS, BreakerRegistry
from hookline.http.retry import RetryPolicy
from hookline.http.signing import HmacSigningAuth, compute_signature, verify_signature

__all__ = [
    "AUTH",
    "BREAKERS",
    "PERMANENT",
    "RETRYABLE",
    "ApiClient",
    "ApiKeyAuth",
    "AuthChain",
    "AuthFailed",
    "BasicAuth",
    "BreakerRegistry",
    "CircuitBreaker",
    "ClientCredentialsGrant",
    "Clock",
    "CodeMap",
    "ErrorMap",
    "Fate",
    "FormCredentialsAuth",
    "HmacSigningAuth",
    "ManualClock",
    "MemoryBreakerStore",
    "OAuth2Auth",
    "RedisBreakerStore",
    "RefreshTokenGrant",
    "Rejected",
    "RetryPolicy",
    "StatusErrorMap",
    "SystemClock",
    "TokenSource",
    "TokenUnavailable",
    "Unavailable",
    "build_auth",
    "compute_signature",
    "verify_signature",
]
