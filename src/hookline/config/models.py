"""The settings tree (README.md#configuration, docs/providers/README.md#configuring-a-provider).

Components receive their slice of it as arguments; nothing else reads the
environment.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookline.config.reactor import ReactorSettings
from hookline.config.secrets import Secret
from hookline.config.verify import VerifyConfig

IPNetwork = IPv4Network | IPv6Network


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    public_base_url: str | None = None
    trusted_proxies: list[IPNetwork] = Field(default_factory=list)
    # How long a request waits for Kafka's acknowledgement before answering 503.
    publish_timeout_seconds: float = Field(default=5.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    # Limits at the HTTP edge, before any request is authenticated (docs/edge.md):
    # request line plus headers larger than this answer 431 and close.
    max_header_bytes: int = Field(default=32_768, ge=1024)
    # From connection (or the first byte of a keep-alive request) to the end of
    # the headers; a slower client gets 408 and is closed.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # From the end of the headers to the end of the body; a slower client is closed.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Open connections per server process; one more is answered 503 + Retry-After
    # and closed. Keep it below the process's file-descriptor limit (ulimit -n).
    max_connections: int = Field(default=1000, ge=1)
    # Rejected requests are recorded on <prefix>.rejected with masked headers; their
    # bodies only when this is on (docs/console.md#rejected-requests).
    keep_rejected_bodies: bool = False


class KafkaSettings(_Section):
    bootstrap_servers: str | None = None
    # Where `hookline run` / `hookline broker` put the embedded broker when
    # bootstrap_servers is unset; other commands look for it there.
    embedded_port: int = Field(default=9092, ge=1, le=65535)
    topic_prefix: str = Field(default="hookline", pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # auto: on for a real Kafka, off for the embedded broker (it rejects InitProducerId).
    idempotence: Literal["auto", "on", "off"] = "auto"
    client_id: str = "hookline"
    linger_ms: int = Field(default=0, ge=0)
    max_batch_bytes: int = Field(default=1_048_576, ge=1024)
    request_timeout_ms: int = Field(default=30_000, ge=100)
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism is None:
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism")
        return self


def bootstrap(kafka: KafkaSettings) -> tuple[str, bool]:
    """The bootstrap servers to use, and whether they are the embedded broker."""
    if kafka.bootstrap_servers:
        return kafka.bootstrap_servers, False
    return f"127.0.0.1:{kafka.embedded_port}", True


class SourceSettings(_Section):
    provider: str = Field(min_length=1)
    verify: VerifyConfig
    allow_ips: list[IPNetwork] = Field(default_factory=list)
    dedup: bool = True

    @model_validator(mode="after")
    def _none_needs_allow_ips(self) -> SourceSettings:
        if self.verify.scheme == "none" and not self.allow_ips:
            raise ValueError("verify.scheme none is only allowed together with allow_ips")
        return self


class DedupSettings(_Section):
    window_seconds: int = Field(default=86_400, ge=1)
    max_entries: int = Field(default=1_000_000, ge=1)


class WorkerSettings(_Section):
    concurrency: int = Field(default=64, ge=1)
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    commit_interval_ms: int = Field(default=1_000, ge=10)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    retry_tiers: list[str] = Field(default_factory=lambda: ["10s", "1m", "10m"], min_length=1)
    inline_retries: int = Field(default=2, ge=0)
    inline_backoff_ms: int = Field(default=200, ge=0)
    idempotency_lease_seconds: float = Field(default=60.0, gt=0)
    idempotency_ttl_seconds: int = Field(default=7 * 86_400, ge=1)
    max_poll_records: int = Field(default=500, ge=1)
    # How long the broker may hold a fetch that found nothing (Kafka's fetch.max.wait.ms).
    # Kafka answers as soon as a record arrives; the embedded broker holds the fetch this
    # long anyway, so each hop of the loop waits up to it (docs/worker.md#latency).
    fetch_max_wait_ms: int = Field(default=500, ge=0, le=60_000)
    # A retryable failure waits in place only when its delay is at most this; longer → retry tier.
    inline_max_wait_ms: int = Field(default=5_000, ge=0)
    # Records fetched but unfinished; above it every partition is paused (back-pressure).
    max_buffered_records: int = Field(default=2_000, ge=1)
    # How long a revocation waits for in-flight handlers of revoked partitions.
    revocation_grace_seconds: float = Field(default=5.0, ge=0)
    # `hookline worker` serves GET /healthz and /metrics here (Kubernetes probes,
    # Prometheus); null = no server. `hookline run` has them on the ingress already.
    probe_port: int | None = Field(default=None, ge=1, le=65535)
    probe_host: str = "127.0.0.1"
    # /healthz fails when a worker's fetch loop has not turned for this long.
    stall_seconds: float = Field(default=120.0, gt=0)


class AuthSettings(_Section):
    type: Literal[
        "oauth2_client_credentials",
        "oauth2_refresh_token",
        "bearer_token",
        "basic",
        "api_key",
        "form_credentials",
    ]
    # A pre-issued OAuth access token (seed 004's *_OAUTH_TOKEN): bearer_token sends only it;
    # on the oauth2 types it is used first and the grant fetches a new one once it is refused.
    access_token: Secret | None = None
    token_url: str | None = None
    client_id: Secret | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    scope: str | None = None
    refresh_buffer_seconds: float = Field(default=300, ge=0)
    username: Secret | None = None
    password: Secret | None = None
    # form_credentials: the form field names (Every8d UID/PWD, Mitake username/password).
    username_field: str = "username"
    password_field: str = "password"  # noqa: S105 - a form field name
    header: str | None = None
    value: Secret | None = None
    api_key: ApiKeySettings | None = None
    signing: SigningSettings | None = None


class ApiKeySettings(_Section):
    header: str = "X-API-Key"
    value: Secret


class SigningSettings(_Section):
    enabled: bool = True
    secret: Secret
    timestamp_header: str = "X-Timestamp"
    signature_header: str = "X-Signature"
    algorithm: Literal["sha256", "sha512"] = "sha256"


class LimitsSettings(_Section):
    requests_per_second: float | None = Field(default=None, gt=0)
    requests_per_minute: float | None = Field(default=None, gt=0)
    min_interval_ms: int = Field(default=0, ge=0)
    max_concurrency: int = Field(default=16, ge=1)
    max_connections: int = Field(default=32, ge=1)


class RetrySettings(_Section):
    max_attempts: int = Field(default=3, ge=1)
    base_delay_ms: int = Field(default=500, ge=0)
    max_delay_ms: int = Field(default=30_000, ge=0)
    inline_max_delay_ms: int = Field(default=10_000, ge=0)
    deadline_seconds: float = Field(default=60.0, gt=0)
    # Per-status base delays (docs/providers/colt.md#errors-and-retries), e.g. {429: 60000, 503: 30000}.
    status_delays_ms: dict[int, int] = Field(default_factory=dict)


class BreakerSettings(_Section):
    failure_threshold: int = Field(default=5, ge=1)
    failure_ratio: float | None = Field(default=None, gt=0, le=1)
    window_seconds: float = Field(default=60.0, gt=0)
    minimum_calls: int = Field(default=10, ge=1)
    recovery_seconds: float = Field(default=60.0, gt=0)
    half_open_probes: int = Field(default=1, ge=1)


class ProbeSettings(_Section):
    """The periodic health probe of one provider (docs/providers/README.md#health-probes)."""

    enabled: bool = True
    # Seconds between probes; null: the provider family's default (SMS 300, as its
    # own checks run; every other provider 60).
    interval_seconds: float | None = Field(default=None, gt=0)
    # The whole probe's budget (token fetch, call and retries); past it the probe fails.
    timeout_seconds: float = Field(default=10.0, gt=0)
    # A GET path to call instead of the provider's own cheapest read; any 2xx passes.
    path: str | None = Field(default=None, pattern=r"^/")
    # A failing probe makes the ingress's /readyz answer 503.
    required_for_ready: bool = False


class TlsSettings(_Section):
    """How a provider client talks TLS."""

    # The oldest protocol version the client accepts (Colt's guide asks for 1.2 or newer).
    min_version: Literal["1.2", "1.3"] = "1.2"
    # Plain http:// to a host that is not loopback is refused unless this is true:
    # credentials and personal data must not cross a network in clear.
    allow_plain_http: bool = False


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class ProviderSettings(BaseModel):
    """One provider API client; provider-specific keys (e.g. ``sender``) are kept as extras."""

    model_config = ConfigDict(extra="allow")

    base_url: str
    auth: AuthSettings | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    cache: dict[str, float] = Field(default_factory=dict)
    webhook_source: str | None = None
    health: ProbeSettings = Field(default_factory=ProbeSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)

    @model_validator(mode="after")
    def _https_off_loopback(self) -> ProviderSettings:
        """Refuse http:// API and token URLs beyond loopback (the sandbox) unless allowed."""
        if self.tls.allow_plain_http:
            return self
        token_url = getattr(self.auth, "token_url", None) if self.auth is not None else None
        for what, url in (("base_url", self.base_url), ("auth.token_url", token_url)):
            if url and urlsplit(url).scheme == "http" and not _loopback(url):
                raise ValueError(
                    f"{what} {url} is plain http to a host that is not loopback; use https, "
                    "or set tls.allow_plain_http: true"
                )
        return self


class SimulatorSettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    port: int = Field(ge=0, le=65535)
    tick_ms: int = Field(default=200, ge=1)
    token_ttl_seconds: int = Field(default=3600, ge=1)
    callback_secret: Secret | None = None
    callback_url: str | None = None


class SandboxSettings(_Section):
    host: str = "127.0.0.1"
    ingress_url: str = "http://127.0.0.1:8000"
    providers: dict[str, SimulatorSettings] = Field(default_factory=dict)


class ObservabilitySettings(_Section):
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    # Where the processes of `hookline serve --workers N` share their metrics, so that
    # every scrape shows the whole server's totals; serve sets it (a fresh temporary
    # directory) when unset. Emptied at start-up.
    metrics_dir: str | None = None


class SecretRotationSettings(_Section):
    """How ``file:`` secrets follow their files without a restart (README.md#secrets)."""

    # How often each secret file is checked (stat, then a read when it changed); 0: only SIGHUP.
    reload_interval_seconds: float = Field(default=5.0, ge=0)
    # After a webhook secret's file changes, its previous value still verifies this long,
    # so the provider can switch to the new secret after hookline did.
    previous_valid_seconds: float = Field(default=300.0, ge=0)


class HooklineSettings(BaseModel):
    """The whole configuration file."""

    model_config = ConfigDict(extra="forbid")

    server: ServerSettings = Field(default_factory=ServerSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis_url: Secret | None = None
    admin_token: Secret | None = None
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    services: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    reactor: ReactorSettings = Field(default_factory=ReactorSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    secrets: SecretRotationSettings = Field(default_factory=SecretRotationSettings)


AuthSettings.model_rebuild()
