"""Each configured source, prepared once: its scheme, adapter and topic; schemes follow rotated secrets."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

import structlog

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings, SourceSettings
from hookline.config.secrets import Secret
from hookline.config.watch import Change, SecretWatcher
from hookline.observability.masking import SECRETS
from hookline.providers.base import Adapter, webhook_methods
from hookline.providers.registry import PROVIDERS
from hookline.signatures import build_scheme
from hookline.signatures.base import Scheme

log = structlog.get_logger("hookline.ingress")


@dataclass(frozen=True)
class Source:
    name: str
    settings: SourceSettings
    scheme: Scheme | None
    adapter: Adapter
    topic: str
    methods: tuple[str, ...] = ("POST",)


def prepare_sources(sources: dict[str, SourceSettings], topics: Topics) -> dict[str, Source]:
    prepared = {}
    for name, settings in sources.items():
        adapter = PROVIDERS[settings.provider].adapter
        scheme = None if settings.verify.scheme == "none" else build_scheme(settings.verify)
        prepared[name] = Source(
            name=name,
            settings=settings,
            scheme=scheme,
            adapter=adapter,
            topic=topics.events(adapter.domain or name),
            methods=webhook_methods(adapter),
        )
    return prepared


class SourceRotation:
    """Rebuilds a source's scheme when one of its ``file:`` secrets changes (README.md#secrets).

    The scheme is built anew and the source replaced in ``sources`` as a whole:
    a request already verifying holds the old scheme and finishes with it. The
    previous value stays accepted, after the new one, for ``previous_valid``
    seconds (every scheme takes several secrets), then the scheme is rebuilt
    without it.
    """

    def __init__(self, sources: dict[str, Source], previous_valid: float) -> None:
        self.sources = sources
        self.previous_valid = previous_valid
        self._previous: dict[str, list[tuple[str, float]]] = {}

    def __call__(self, changes: list[Change]) -> None:
        expires = time.monotonic() + self.previous_valid
        if self.previous_valid > 0:
            for change in changes:
                self._previous.setdefault(change.ref, []).append((change.previous, expires))
            asyncio.get_running_loop().call_later(self.previous_valid + 0.05, self.expire)
        self._rebuild({change.ref for change in changes})

    def expire(self) -> None:
        """Drop previous values whose time is up, and the schemes that still accepted them."""
        now = time.monotonic()
        ended = set()
        for ref, values in list(self._previous.items()):
            kept = [(value, until) for value, until in values if until > now]
            if len(kept) != len(values):
                ended.add(ref)
            if kept:
                self._previous[ref] = kept
            else:
                del self._previous[ref]
        if ended:
            self._rebuild(ended)

    def _rebuild(self, refs: set[str]) -> None:
        for name, source in list(self.sources.items()):
            verify = source.settings.verify
            if source.scheme is None or verify.scheme == "none":
                continue
            secrets: list[Secret] = list(verify.secrets)
            if not refs & {secret.ref for secret in secrets}:
                continue
            current = {secret.get() for secret in secrets}
            for secret in verify.secrets:
                for value, _ in self._previous.get(secret.ref, []):
                    if value not in current:
                        current.add(value)
                        secrets.append(Secret.fixed(secret.ref, value))
            try:
                scheme = build_scheme(verify.model_copy(update={"secrets": secrets}))
            except Exception as exc:  # a bad new value keeps the scheme that works
                log.error("ingress.source_secrets_invalid", source=name, error=str(exc))
                continue
            self.sources[name] = replace(source, scheme=scheme)
            log.info(
                "ingress.source_secrets_reloaded",
                source=name,
                secrets=len(verify.secrets),
                previous=len(secrets) - len(verify.secrets),
            )


def watch_sources(sources: dict[str, Source], settings: HooklineSettings) -> SecretWatcher:
    """A watcher over every ``file:`` secret of ``settings`` that also rebuilds the sources' schemes."""
    watcher = SecretWatcher.for_settings(settings)
    # A new value is masked in logs like the ones read at start-up.
    watcher.subscribe(lambda changes: SECRETS.add(change.value for change in changes))
    watcher.subscribe(SourceRotation(sources, settings.secrets.previous_valid_seconds))
    return watcher
