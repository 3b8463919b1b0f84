"""Rejected webhook requests: what the ingress refused, why, and from where.

The ingress writes one record per refused request to ``<prefix>.rejected``
(keyed by source, so one source's rejections stay in order on one partition);
the console, ``GET /admin/rejected`` and ``hookline rejected list`` read the
newest ones back. Headers are masked before they are written (signatures,
tokens, cookies and phone numbers never reach the topic); the body is kept
only when ``server.keep_rejected_bodies`` is on.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookline.admin.reading import Stored, read_tail
from hookline.bus.codec import Record
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.observability.masking import MASK, mask_text, mask_value

# The ingress's outcomes that refuse a request (README.md#http-surface-of-the-ingress).
REJECTED_OUTCOMES = frozenset(
    {
        "unknown_source",
        "method_not_allowed",
        "forbidden",
        "unsupported_media_type",
        "too_large",
        "bad_request",
        "unverified",
    }
)
# What each outcome means, as the console says it.
REASONS = {
    "unverified": "signature or timestamp did not verify",
    "forbidden": "client address not allowed",
    "unknown_source": "no such source",
    "too_large": "body too large",
    "unsupported_media_type": "wrong content type",
    "method_not_allowed": "method not allowed",
    "bad_request": "malformed request",
}
UNKNOWN_SOURCE = "_unknown"
# Header names whose values prove authenticity: never kept, whatever the masking rules say.
_PROOF_WORDS = ("signature", "authorization", "token", "hmac", "cookie", "secret", "key")


def rejected_topic(settings: HooklineSettings) -> str:
    return Topics(settings.kafka.topic_prefix).rejected


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header values as they may be shown: proofs replaced, secrets and phone numbers masked."""
    masked: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if any(word in lower for word in _PROOF_WORDS):
            shown = MASK
        else:
            shown = str(mask_value(lower, value))
        masked[lower] = f"{masked[lower]}, {shown}" if lower in masked else shown
    return masked


def rejection_record(
    topic: str,
    *,
    source: str,
    reason: str,
    detail: str | None,
    status: int,
    client: str | None,
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    at: float,
) -> Record:
    """The record the ingress writes for one refused request (masked already)."""
    document: dict[str, Any] = {
        "source": source,
        "reason": reason,
        "detail": detail,
        "status": status,
        "time": datetime.fromtimestamp(at, UTC).isoformat(),
        "client": client,
        "method": method,
        "path": mask_text(path),
        "query": mask_text("?" + query)[1:] if query else "",
        "headers": mask_headers(headers),
    }
    if body is not None:
        document["body_base64"] = base64.b64encode(body).decode()
    return Record(topic, source.encode(), json.dumps(document, ensure_ascii=False).encode())


@dataclass(frozen=True)
class Rejection:
    """One refused request as the views show it."""

    source: str
    reason: str
    detail: str | None
    status: int
    time: str
    client: str | None
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body_base64: str | None
    coordinates: str

    @property
    def explained(self) -> str:
        return REASONS.get(self.reason, self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "reason": self.reason,
            "explained": self.explained,
            "detail": self.detail,
            "status": self.status,
            "time": self.time,
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body_base64": self.body_base64,
            "kafka": self.coordinates,
        }


def _parse(stored: Stored) -> Rejection | None:
    try:
        doc = json.loads(stored.value or b"")
        return Rejection(
            source=str(doc["source"]),
            reason=str(doc["reason"]),
            detail=doc.get("detail"),
            status=int(doc.get("status", 0)),
            time=str(doc["time"]),
            client=doc.get("client"),
            method=str(doc.get("method", "")),
            path=str(doc.get("path", "")),
            query=str(doc.get("query", "")),
            headers={str(k): str(v) for k, v in (doc.get("headers") or {}).items()},
            body_base64=doc.get("body_base64"),
            coordinates=stored.coordinates,
        )
    except (ValueError, KeyError, TypeError):
        return None  # not ours: another writer's record on the topic is skipped, not fatal


async def recent_rejections(
    settings: HooklineSettings,
    servers: str,
    *,
    source: str | None = None,
    reason: str | None = None,
    per_source: int = 100,
) -> list[Rejection]:
    """The newest ``per_source`` rejections of each source (or of one), newest first."""
    # Sources share partitions (keyed by name): read enough for every one of them.
    tail = per_source * (len(settings.sources) + 1)
    stored = await read_tail(settings.kafka, servers, [rejected_topic(settings)], tail=tail)
    found = [r for r in map(_parse, stored) if r is not None]
    if source is not None:
        found = [r for r in found if r.source == source]
    if reason is not None:
        found = [r for r in found if r.reason == reason]
    found.sort(key=lambda r: r.time, reverse=True)
    kept: list[Rejection] = []
    counts: dict[str, int] = {}
    for rejection in found:
        if counts.get(rejection.source, 0) < per_source:
            counts[rejection.source] = counts.get(rejection.source, 0) + 1
            kept.append(rejection)
    return kept
