"""``POST /webhooks/{source}``: the one path every provider's delivery takes.

allow-list → content type → bounded body → verify raw bytes → parse →
normalize → dedup claim → publish (acks=all) → mark seen → 202.

A verified body always gets a decision: 202 (published, or kept whole in
``dlq.ingress`` with the reason when it cannot become an event unchanged) or
400 when it is not in its content type at all; never a 500 and never a value
altered on the way (:mod:`hookline.ingress.payload`).
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

import structlog
from opentelemetry.trace import SpanKind
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from hookline.bus.chain import ChainIndex, ProcessChainIndex
from hookline.bus.codec import Record, to_record
from hookline.bus.publisher import Publisher
from hookline.bus.topics import Topics
from hookline.config.models import ServerSettings
from hookline.envelope import CloudEvent, UnrepresentableData, make_event, to_json_exact
from hookline.errors import NormalizationError, PublishError, VerificationError
from hookline.ingress.body import BadContentLength, BodyTooLarge, read_limited
from hookline.ingress.client_ip import allowed, client_address
from hookline.ingress.dedup import DedupStore, DedupUnavailable
from hookline.ingress.payload import UnrepresentableBody
from hookline.ingress.payload import parse as parse_payload
from hookline.ingress.problems import problem, unauthorized
from hookline.ingress.receipts import Receipt, StoredEvent
from hookline.ingress.receipts import body as receipt_body
from hookline.ingress.rejections import REJECTION_DETAIL, RejectionRecorder
from hookline.ingress.sources import Source
from hookline.observability import metrics, tracing
from hookline.observability.context import REQUEST_ID
from hookline.observability.logging import HotLogger
from hookline.providers.base import RawWebhook, UnparseableBody, accepts
from hookline.providers.registry import PROVIDERS
from hookline.signatures.base import Headers, SignedRequest, reads_url
from hookline.worker.parking import H_REASON

log = structlog.get_logger("hookline.ingress")
request_log = HotLogger("hookline.ingress")

# Headers that prove authenticity are not kept with a dead-lettered request.
_SENSITIVE_HEADER_WORDS = ("signature", "authorization", "token", "hmac", "cookie", "secret")


def public_url(scope: Scope, server: ServerSettings) -> str:
    """The URL as the provider called it (URL-signing schemes sign this)."""
    if not server.public_base_url:
        return str(Request(scope).url)
    # Built from the scope: cheaper than request.url on the hot path.
    query: str = scope.get("query_string", b"").decode("latin-1")
    path: str = scope.get("root_path", "") + scope["path"]
    return server.public_base_url.rstrip("/") + path + (f"?{query}" if query else "")


def _forwarded_for(scope: Scope) -> str | None:
    """Every X-Forwarded-For line joined in order: a proxy may add a line instead of appending."""
    lines = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
    return ",".join(lines) if lines else None


class _Refused(Exception):
    """A request refused before its body is read in full (carries the outcome and the answer)."""

    def __init__(self, outcome: str, response: Response) -> None:
        super().__init__(outcome)
        self.answer: tuple[str, str | None, Response] = (outcome, None, response)


def _raw_headers(scope: Scope) -> Headers:
    return Headers.from_asgi(scope["headers"])


def _query(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    return dict(QueryParams(raw)) if raw else {}


class _Accepted(Response):
    """The receipt (:mod:`hookline.ingress.receipts`): 202 for a new delivery, 200 for a repeat.

    Rendered directly: JSONResponse's generic encoding and header building were
    a measurable share of the accepted path's CPU.
    """

    def __init__(self, event_id: str, receipt: Receipt | None, duplicate: bool = False) -> None:
        self.status_code = 200 if duplicate else 202
        self.background = None
        self.body = receipt_body(event_id, duplicate, receipt)
        self.raw_headers = [
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


class WebhookEndpoint:
    # Told every outcome, records refusals (docs/console.md); set by the app's lifespan.
    rejections: RejectionRecorder | None = None

    def __init__(
        self,
        *,
        sources: dict[str, Source],
        publisher: Publisher,
        server: ServerSettings,
        topics: Topics,
        dedup: DedupStore | None,
        clock: Any = time.time,
        chain: ChainIndex | None = None,
    ) -> None:
        self.sources = sources
        self.publisher = publisher
        self.server = server
        self.topics = topics
        self.dedup = dedup
        self.clock = clock
        # Callbacks about entities hookline created join their delivery's chain: only
        # sources whose provider hookline calls look their subjects up (bus/chain.py).
        self.chain = chain
        self._memory_chain = chain.memory if isinstance(chain, ProcessChainIndex) else None
        self._calls_back = frozenset(
            name
            for name, source in sources.items()
            if (spec := PROVIDERS.get(source.settings.provider)) is not None and spec.family
        )
        # Metric children per label set, resolved once: labels() is costly per request.
        self._request_children: dict[tuple[str, str], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._children: dict[tuple[Any, str], Any] = {}
        # A source that never delivers is silent since start-up (the SourceSilent alert).
        self._last_accepted = {name: metrics.LAST_ACCEPTED.labels(name) for name in sources}
        for child in self._last_accepted.values():
            child.set(clock())

    def _unavailable(self, detail: str = "The event log is unavailable; retry later.") -> Response:
        return problem(503, detail, {"Retry-After": str(self.server.retry_after_seconds)})

    def _requests(self, source: str, outcome: str) -> Any:
        child = self._request_children.get((source, outcome))
        if child is None:
            child = self._request_children[(source, outcome)] = metrics.INGRESS_REQUESTS.labels(
                source, outcome
            )
        return child

    def _child(self, metric: Any, label: str) -> Any:
        child = self._children.get((metric, label))
        if child is None:
            child = self._children[(metric, label)] = metric.labels(label)
        return child

    def _latency(self, source: str) -> Any:
        child = self._latency_children.get(source)
        if child is None:
            child = self._latency_children[source] = metrics.REQUEST_LATENCY.labels(source)
        return child

    async def endpoint(self, request: Request) -> Response:
        """The same handling as a Starlette endpoint (the router's route)."""
        return await self.respond(request.path_params["source"], request.scope, request.receive)

    async def respond(self, name: str, scope: Scope, receive: Receive) -> Response:
        started = time.perf_counter()
        source = self.sources.get(name)
        label = name if source is not None else "_unknown"
        outcome, event_id = "error", None
        response: Response | None = None
        try:
            if source is None:
                outcome, response = "unknown_source", problem(404, f"Unknown source {name!r}.")
            elif tracing.ENABLED:
                outcome, event_id, response = await self._handle_traced(scope, receive, source)
            else:
                outcome, event_id, response = await self._handle(scope, receive, source)
            return response
        except ClientDisconnect:
            outcome = "client_gone"
            raise
        finally:
            elapsed = time.perf_counter() - started
            # OpenMetrics exemplars (only the tuple here; built into labels at a scrape).
            ids = (("request_id", REQUEST_ID.get()), ("event_id", event_id))
            self._requests(label, outcome).inc(1.0, ids)
            if self.rejections is not None:
                status = response.status_code if response is not None else 500
                self.rejections.observe(name, outcome, scope, status)
            self._latency(label).observe(elapsed, ids)
            logger = request_log.for_info()
            if logger is not None:
                logger.info(
                    "ingress.request",
                    source=name,
                    outcome=outcome,
                    status=response.status_code if response is not None else 500,
                    event_id=event_id,
                    latency_ms=round(elapsed * 1000, 2),
                )

    async def _handle_traced(
        self, scope: Scope, receive: Receive, source: Source
    ) -> tuple[str, str | None, Response]:
        """:meth:`_handle` in a SERVER span continuing the provider's ``traceparent``, if any."""
        headers = _raw_headers(scope)
        with tracing.span(
            f"{scope['method']} /webhooks/{source.name}",
            kind=SpanKind.SERVER,
            traceparent=headers.get("traceparent"),
            attributes={
                "http.request.method": scope["method"],
                "http.route": "/webhooks/{source}",
                "url.path": scope.get("path", ""),
                "hookline.source": source.name,
                "hookline.provider": source.settings.provider,
            },
        ) as current:
            outcome, event_id, response = await self._handle(scope, receive, source)
            if current is not None:
                current.set_attribute("http.response.status_code", response.status_code)
                current.set_attribute("hookline.outcome", outcome)
                if event_id is not None:
                    current.set_attribute("cloudevents.event_id", event_id)
            return outcome, event_id, response

    async def _handle(
        self, scope: Scope, receive: Receive, source: Source
    ) -> tuple[str, str | None, Response]:
        method: str = scope["method"]
        refused = self._admission(scope, source, method)
        if refused is not None:
            return refused
        headers = _raw_headers(scope)
        try:
            content_type, body = await self._read(receive, source, method, headers)
        except _Refused as refused_body:
            return refused_body.answer
        if source.scheme is not None:
            refused = self._verify(scope, source, method, headers, body)
            if refused is not None:
                return refused
        raw = RawWebhook(
            source=source.name,
            provider=source.settings.provider,
            body=body,
            content_type=content_type,
            headers=headers,
            query=_query(scope),
            received_at=datetime.now(UTC),
            # Inside a span, events continue this request's trace; else the provider's.
            traceparent=tracing.current_traceparent(headers.get("traceparent")),
        )
        try:
            raw.payload = None if method == "GET" else parse_payload(body, content_type)
        except UnparseableBody as exc:
            return "bad_request", None, problem(400, str(exc))
        except UnrepresentableBody as exc:
            return await self._dead_letter(raw, exc, exc.reason)
        try:
            events = self._normalize(source, raw)
        except NormalizationError as exc:
            return await self._dead_letter(raw, exc, "normalization_failed")
        except Exception as exc:
            # An adapter bug met by a verified delivery: keep the delivery, answer 202.
            log.error("ingress.adapter_failed", source=source.name, exc_info=True)
            return await self._dead_letter(raw, exc, "adapter_error")
        return await self._publish(source, raw, events)

    def _admission(
        self, scope: Scope, source: Source, method: str
    ) -> tuple[str, str | None, Response] | None:
        """A refusal before reading anything: a method the provider does not use, an address."""
        if method not in source.methods:
            # What the router answered before GET deliveries existed, Allow included.
            allow = {"Allow": ", ".join(source.methods)}
            detail = "Method not allowed on this route."
            return "method_not_allowed", None, problem(405, detail, allow)
        if source.settings.allow_ips:
            client = scope.get("client")
            peer = client[0] if client else None
            address = client_address(peer, _forwarded_for(scope), self.server.trusted_proxies)
            if not allowed(address, source.settings.allow_ips):
                log.warning("ingress.address_denied", source=source.name, address=str(address))
                return "forbidden", None, problem(403, "This address may not post to this source.")
        return None

    async def _read(
        self, receive: Receive, source: Source, method: str, headers: Headers
    ) -> tuple[str, bytes]:
        """``(content type, body)``; raises :class:`_Refused` for a body the source cannot take."""
        if method == "GET":
            # A delivery by GET (Mitake's reports) carries its fields in the query only.
            return "", b""
        content_type = headers.get("content-type", "")
        if not accepts(source.adapter.content_types, content_type):
            wanted = ", ".join(source.adapter.content_types)
            raise _Refused(
                "unsupported_media_type", problem(415, f"Content-Type must be {wanted}.")
            )
        try:
            body = await read_limited(
                receive, self.server.max_body_bytes, headers.get("content-length")
            )
        except BodyTooLarge:
            limit = self.server.max_body_bytes
            raise _Refused("too_large", problem(413, f"The body exceeds {limit} bytes.")) from None
        except BadContentLength:
            raise _Refused(
                "bad_request", problem(400, "Content-Length is not a valid size.")
            ) from None
        return content_type, body

    def _verify(
        self, scope: Scope, source: Source, method: str, headers: Headers, body: bytes
    ) -> tuple[str, str | None, Response] | None:
        """None when the signature holds; else the one 401 every cause gets."""
        assert source.scheme is not None
        signed = SignedRequest(
            body=body,
            headers=headers,
            # Only URL-signing schemes read it; building it costs ~5% of a request.
            url=public_url(scope, self.server) if reads_url(source.scheme) else "",
            method=method,
        )
        try:
            if tracing.ENABLED:
                with tracing.span(
                    "verify", attributes={"hookline.scheme": source.settings.verify.scheme}
                ):
                    source.scheme.verify(signed, self.clock())
            else:
                source.scheme.verify(signed, self.clock())
        except VerificationError as exc:
            metrics.VERIFICATION_FAILURES.labels(source.name, exc.reason).inc()
            scope.setdefault("state", {})[REJECTION_DETAIL] = (exc.reason, body)
            log.warning(
                "ingress.verification_failed",
                source=source.name,
                reason=exc.reason,
                detail=exc.detail,
            )
            return "unverified", None, unauthorized()
        return None

    @staticmethod
    def _normalize(source: Source, raw: RawWebhook) -> list[CloudEvent]:
        if tracing.ENABLED:
            with tracing.span("normalize"):
                events = source.adapter.normalize(raw)
            # Consumers continue from this request's (exported) span.
            for event in events:
                event.traceparent = tracing.current_traceparent(event.traceparent)
        else:
            events = source.adapter.normalize(raw)
        if not events:
            raise NormalizationError("the adapter produced no event")
        return events

    async def _publish(
        self, source: Source, raw: RawWebhook, events: list[CloudEvent]
    ) -> tuple[str, str | None, Response]:
        first = events[0]
        key = f"{source.name}:{first.id}"
        use_dedup = self.dedup is not None and source.settings.dedup and first.providereventid
        token: str | None = None
        if use_dedup:
            assert self.dedup is not None
            try:
                claim = await self.dedup.claim(key, first.id, self.server.publish_timeout_seconds)
            except DedupUnavailable as exc:
                # Without the store we cannot promise "no second event": let the provider retry.
                log.warning("ingress.dedup_unavailable", source=source.name, error=str(exc))
                detail = "The dedup store is unavailable; retry later."
                return "unavailable", first.id, self._unavailable(detail)
            if claim.state == "done":
                # A provider that needs its own acknowledgement needs it for a repeat too,
                # or it keeps retrying a delivery we already have.
                special = self._acknowledge(source, events)
                repeat = _Accepted(claim.event_id or first.id, claim.receipt, duplicate=True)
                return "duplicate", first.id, special or repeat
            token = claim.token
        # From here every way out completes or releases the claim (the finally below).
        claimed = bool(use_dedup)
        try:
            await self._chain(source, events)
            try:
                records: list[Record] = [
                    to_record(event, source.topic, to_json_exact(event)) for event in events
                ]
            except UnrepresentableData as exc:
                return await self._dead_letter(raw, exc, exc.reason)
            started = time.perf_counter()
            try:
                if tracing.ENABLED:
                    stored = await self._publish_traced(source, events, records)
                else:
                    stored = await self.publisher.publish(records)
            except PublishError as exc:
                log.warning(
                    "ingress.publish_failed", source=source.name, event_id=first.id, error=str(exc)
                )
                return "unavailable", first.id, self._unavailable()
            topic = source.topic
            receipt = tuple(
                StoredEvent(event.id, topic, partition, offset)
                for event, (partition, offset) in zip(events, stored, strict=True)
            )
            if use_dedup:
                assert self.dedup is not None
                claimed = False
                await self.dedup.complete(key, first.id, token, receipt)
        finally:
            if claimed:
                assert self.dedup is not None
                await self.dedup.release(key, token)
        self._child(metrics.PUBLISH_LATENCY, source.name).observe(time.perf_counter() - started)
        self._child(metrics.EVENTS_PUBLISHED, source.topic).inc(len(records))
        self._last_accepted[source.name].set(self.clock())
        special = self._acknowledge(source, events)
        return "accepted", first.id, special or _Accepted(first.id, receipt)

    async def _chain(self, source: Source, events: list[CloudEvent]) -> None:
        """Each event's place in the causation chain (schemas/README.md), and the request id.

        A delivery's events belong to its first event's correlation; a callback about
        an entity hookline created continues the chain of the delivery that created it.
        """
        correlation = events[0].id
        request_id = REQUEST_ID.get()
        memory = self._memory_chain
        joins = self.chain is not None and source.name in self._calls_back
        for event in events:
            # Set in the instance dict: pydantic's __setattr__ is dear on this path.
            fields = event.__dict__
            fields["requestid"] = request_id
            link = None
            if joins and event.subject:
                if memory is not None:
                    link = memory.get(event.subject)
                else:
                    assert self.chain is not None
                    link = await self.chain.lookup(event.subject)
            if link is not None:
                fields["correlationid"] = link.correlation_id
                fields["causationid"] = link.cause_id
            elif fields["correlationid"] is None:
                fields["correlationid"] = correlation

    async def _publish_traced(
        self, source: Source, events: list[CloudEvent], records: list[Record]
    ) -> list[tuple[int, int]]:
        """The publish as a PRODUCER span (messaging conventions), ended at Kafka's ack."""
        with tracing.span(
            f"send {source.topic}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": source.topic,
                "messaging.batch.message_count": len(records),
                "messaging.message.id": events[0].id,
            },
        ):
            return await self.publisher.publish(records)

    @staticmethod
    def _acknowledge(source: Source, events: list[CloudEvent]) -> Response | None:
        try:
            ack = source.adapter.acknowledgement(events)
        except Exception:
            # The event is in Kafka already: a bug here must not turn its 2xx into a 500.
            log.error("ingress.acknowledgement_failed", source=source.name, exc_info=True)
            return None
        if ack is None:
            return None
        return Response(ack.body, status_code=ack.status or 200, media_type=ack.media_type)

    async def _dead_letter(
        self, raw: RawWebhook, error: Exception, reason: str
    ) -> tuple[str, str | None, Response]:
        """A verified delivery we cannot turn into an event is kept whole, not refused (202)."""
        kept_headers = {
            k: v for k, v in raw.headers.items() if not any(w in k for w in _SENSITIVE_HEADER_WORDS)
        }
        data: dict[str, Any] = {
            "source": raw.source,
            "provider": raw.provider,
            # backslashreplace: a message quoting a lone surrogate must not stop the letter.
            "error": {
                "class": type(error).__name__,
                "message": str(error).encode("utf-8", "backslashreplace").decode(),
                "reason": reason,
            },
            "content_type": raw.content_type,
            "headers": kept_headers,
            "query": {k: v for k, v in raw.query.items() if "token" not in k.lower()},
            "received_at": raw.received_at.isoformat(),
            "body_base64": base64.b64encode(raw.body).decode(),
        }
        event = make_event(
            source=f"/hookline/sources/{raw.source}",
            type="hookline.ingress.normalization_failed",
            subject=raw.source,
            data=data,
            provider=raw.provider,
            traceparent=raw.traceparent,
        )
        # The letter stands for the delivery: it starts its own chain.
        event.__dict__["correlationid"] = event.id
        event.__dict__["requestid"] = REQUEST_ID.get()
        record = to_record(event, self.topics.ingress_dlq)
        # The reason as a header too: /admin/dlq counts letters by it.
        record.headers.append((H_REASON, reason.encode()))
        try:
            [(partition, offset)] = await self.publisher.publish([record])
        except PublishError:
            return "unavailable", event.id, self._unavailable()
        log.warning(
            "ingress.dead_lettered",
            source=raw.source,
            event_id=event.id,
            reason=reason,
            error=str(error),
        )
        metrics.EVENTS_PUBLISHED.labels(self.topics.ingress_dlq).inc()
        receipt = (StoredEvent(event.id, self.topics.ingress_dlq, partition, offset),)
        return "dead_lettered", event.id, _Accepted(event.id, receipt)
