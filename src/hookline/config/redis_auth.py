"""Redis clients whose password follows a ``file:`` ``redis_url`` (rotation without a restart).

redis-py authenticates each new connection with the credentials it was built
with. Built from a :class:`~hookline.config.secrets.Secret` instead, a client
gets a :class:`SecretCredentials` provider: every new connection reads the URL
the secret holds *now* and authenticates with its user and password. Open
connections stay authenticated (Redis does not log out a connection when a
password changes), so calls in flight finish on them; a connection opened after
the rotation, a reconnect after Redis restarts or fails over included, uses
the new password. The operator's order: add the new password to Redis (``ACL
SETUSER … >new``, both valid), update the Secret, and remove the old one once
every process has picked the file up (``secrets.reload_interval_seconds``, or
SIGHUP).

Only the credentials rotate: a new host, port, database or TLS setting in the
URL is logged (``config.redis_url_needs_restart``) and needs a restart.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import structlog
from redis.asyncio import ConnectionPool, Redis
from redis.credentials import CredentialProvider

from hookline.config.secrets import Secret

__all__ = ["SecretCredentials", "pool_from_url", "redis_from_url", "without_credentials"]

log = structlog.get_logger("hookline.config")

_Pool = TypeVar("_Pool", bound=ConnectionPool)


def without_credentials(url: str) -> str:
    """``url`` with its user and password taken out (the rest is what a client connects to)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _credentials(url: str) -> tuple[str, str] | tuple[str] | tuple[()]:
    parts = urlsplit(url)
    username = unquote(parts.username) if parts.username else ""
    password = unquote(parts.password) if parts.password else ""
    if username:
        return (username, password)
    if password:
        return (password,)
    return ()


class SecretCredentials(CredentialProvider):
    """The user and password of the URL a secret holds now, read at each new connection."""

    def __init__(self, secret: Secret) -> None:
        self.secret = secret
        self._target = without_credentials(secret.get())
        self._warned: str | None = None

    def get_credentials(self) -> tuple[str, str] | tuple[str]:
        url = self.secret.get()
        target = without_credentials(url)
        if target != self._target and target != self._warned:
            self._warned = target
            log.warning("config.redis_url_needs_restart", ref=self.secret.ref)
        credentials = _credentials(url)
        # redis-py skips AUTH only when it gets no provider at all; an empty
        # password would be sent. A URL without one has no provider (see _split).
        return credentials or ("",)

    async def get_credentials_async(self) -> tuple[str, str] | tuple[str]:
        return self.get_credentials()


def _split(url: Secret | str) -> tuple[str, dict[str, Any]]:
    """The URL to build a client from, and the options that make its password follow the secret."""
    if isinstance(url, str):
        return url, {}
    value = url.get()
    if url.path is None or not _credentials(value):
        # env: and inline values never change while the process runs; a URL without
        # credentials has none to rotate (a new one would need a restart anyway).
        return value, {}
    return without_credentials(value), {"credential_provider": SecretCredentials(url)}


def redis_from_url(url: Secret | str, **options: Any) -> Redis:
    """``Redis.from_url``, with the credentials read at each connection for a ``file:`` secret."""
    target, extra = _split(url)
    return Redis.from_url(target, **extra, **options)


def pool_from_url(url: Secret | str, pool: type[_Pool] = ConnectionPool, **options: Any) -> _Pool:  # type: ignore[assignment]
    """``pool.from_url`` (e.g. ``BlockingConnectionPool``), with the same rotating credentials."""
    target, extra = _split(url)
    return pool.from_url(target, **extra, **options)
