"""The console's pages and actions: each reads or changes state through :mod:`hookline.admin`.

Pages answer ``GET`` and redirect to the login form without a session;
actions answer ``POST`` only with a session, a same-origin request and the
session's CSRF token, and refuse with 403 otherwise.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import structlog
from aiokafka.errors import KafkaError
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hookline.admin import dead_letters, events, operations, overview, reconcile, rejected
from hookline.admin.queries import BadQuery, event_query, letter_filter
from hookline.config.models import HooklineSettings
from hookline.console import auth
from hookline.console.charts import stacked_bars
from hookline.http.registry import BreakerRegistry
from hookline.observability.masking import mask_text
from hookline.worker import dlq
from hookline.worker.open_entities import OpenStore, open_store

log = structlog.get_logger("hookline.console")

Page = Callable[[Request, auth.Session], Awaitable[Response]]
Action = Callable[[Request, auth.Session, FormData], Awaitable[Response]]

# What every console answer carries: nothing from elsewhere runs or loads, no framing,
# no referrer to other sites (a login link holds the token), nothing cached.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

NAV = (
    ("overview", "/console", "Overview"),
    ("events", "/console/events", "Events"),
    ("rejected", "/console/rejected", "Rejected"),
    ("dlq", "/console/dlq", "Dead letters"),
    ("breakers", "/console/breakers", "Breakers"),
    ("reconcile", "/console/reconcile", "Reconciliation"),
    ("sources", "/console/sources", "Sources"),
)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hookline.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda value: json.dumps(
        value, indent=2, ensure_ascii=False, default=str
    )
    env.filters["ms"] = lambda value: datetime.fromtimestamp(value / 1000, UTC).isoformat(
        timespec="milliseconds"
    )
    env.filters["short"] = lambda value: str(value)[:19].replace("T", " ") if value else ""
    env.filters["duration"] = duration
    return env


def duration(seconds: float) -> str:
    """``42 s``, ``4 min 10 s``, ``2 h 03 min``, ``3 d 4 h``: two units at most."""
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


class Console:
    """The console bound to one ingress: its settings, its state and the breakers it shows."""

    def __init__(
        self, settings: HooklineSettings, state: dict[str, Any], registry: BreakerRegistry
    ) -> None:
        self.settings = settings
        self.state = state
        self.registry = registry
        self.env = _environment()
        self._store: OpenStore | None = None

    @property
    def store(self) -> OpenStore:
        """The reconcile worker's open-entity store, opened at the first page that reads it."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def servers(self) -> str:
        return str(self.state["bootstrap_servers"])

    def render(
        self,
        request: Request,
        template: str,
        session: auth.Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(
            nav=NAV, session=session, path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def refused(self, request: Request, why: str, status: int = 403) -> HTMLResponse:
        log.warning("console.refused", path=request.url.path, why=why)
        return self.render(request, "refused.html", None, status=status, why=why)

    # ---- guards -----------------------------------------------------------------------

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = auth.session_of(self.settings, request)
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(
                    f"/console/login?next={quote(target, safe='')}", 303, headers=SECURITY_HEADERS
                )
            try:
                return await handler(request, session)
            except BadQuery as exc:
                return self.render(request, "error.html", session, 400, message=str(exc))
            except KafkaError as exc:
                log.warning("console.kafka_unavailable", error=type(exc).__name__)
                message = "Kafka is unavailable; retry in a few seconds."
                return self.render(request, "error.html", session, 503, message=message)

        return guarded

    def action(self, handler: Action) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = auth.session_of(self.settings, request)
            if session is None:
                return self.refused(request, "Log in first: this action needs the admin token.")
            if not auth.same_origin(request):
                return self.refused(request, "Refused: the request came from another site.")
            form = await read_form(request)
            if form is None:
                return self.refused(request, "Refused: not a form the console sent.", 400)
            csrf = form.get("csrf")
            if not auth.csrf_ok(session, csrf if isinstance(csrf, str) else None):
                return self.refused(request, "Refused: the form's CSRF token is missing or wrong.")
            try:
                return await handler(request, session, form)
            except BadQuery as exc:
                return self.render(request, "error.html", session, 400, message=str(exc))
            except KafkaError as exc:
                log.warning("console.kafka_unavailable", error=type(exc).__name__)
                message = "Kafka is unavailable; nothing was changed. Retry in a few seconds."
                return self.render(request, "error.html", session, 503, message=message)

        return guarded

    # ---- login ------------------------------------------------------------------------

    def _logged_in(self, request: Request, target: str | None) -> Response:
        response = RedirectResponse(auth.safe_next(target), 303, headers=SECURITY_HEADERS)
        auth.set_cookie(response, auth.new_cookie(self.settings), request, self.settings)
        log.info("console.login")
        return response

    async def login_form(self, request: Request) -> Response:
        target = request.query_params.get("next")
        link_token = request.query_params.get("token")
        if link_token is not None:
            if auth.token_matches(self.settings, link_token):
                return self._logged_in(request, target)
            return self._login_page(request, target, "That login link is not valid.", 401)
        return self._login_page(request, target, None)

    def _login_page(
        self, request: Request, target: str | None, error: str | None, status: int = 200
    ) -> HTMLResponse:
        configured = self.settings.admin_token is not None
        return self.render(
            request,
            "login.html",
            None,
            status,
            next=auth.safe_next(target),
            error=error,
            configured=configured,
        )

    async def login(self, request: Request) -> Response:
        if not auth.same_origin(request):
            return self.refused(request, "Refused: the request came from another site.")
        form = await read_form(request)
        if form is None:
            return self.refused(request, "Refused: not a form the console sent.", 400)
        token, target = form.get("token"), form.get("next")
        target = target if isinstance(target, str) else None
        if isinstance(token, str) and auth.token_matches(self.settings, token):
            return self._logged_in(request, target)
        log.warning("console.login_failed")
        return self._login_page(request, target, "That is not the admin token.", 401)

    async def logout(self, request: Request, session: auth.Session, form: FormData) -> Response:
        response = RedirectResponse("/console/login", 303, headers=SECURITY_HEADERS)
        auth.clear_cookie(response)
        return response

    # ---- pages ------------------------------------------------------------------------

    async def overview(self, request: Request, session: auth.Session) -> Response:
        found = await overview.overview(
            self.settings, self.servers, self.registry, self.state.get("tally"), time.time()
        )
        charts = {
            name: [
                (
                    w,
                    stacked_bars(
                        {"accepted": w.accepted, "duplicate": w.duplicate, "rejected": w.rejected},
                        f"{name}, last {w.label}",
                    ),
                )
                for w in windows
            ]
            for name, windows in found.sources.items()
        }
        probes = self.state.get("probes")
        health = [s.as_dict() for s in probes.statuses()] if probes is not None else []
        try:
            open_now: reconcile.OpenEntities | None = await reconcile.open_entities(
                self.store, time.time(), limit=1
            )
        except reconcile.StoreUnavailable:
            open_now = None
        return self.render(
            request,
            "overview.html",
            session,
            charts=charts,
            found=found,
            health=health,
            explained=rejected.REASONS,
            open_now=open_now,
            reconciled=reconcile.counters(),
        )

    async def events(self, request: Request, session: auth.Session) -> Response:
        params = request.query_params
        query = event_query(params)
        started = time.perf_counter()
        page = await events.search(self.settings, self.servers, query)
        took = time.perf_counter() - started
        kept = {k: v for k, v in params.items() if k != "offset" and v}
        newer = max(query.offset - query.limit, 0) if query.offset else None
        older = query.offset + query.limit if query.offset + query.limit < page.total else None
        return self.render(
            request,
            "events.html",
            session,
            page=page,
            params=params,
            query=query,
            took_ms=round(took * 1000),
            sources=sorted(self.settings.sources),
            newer=None if newer is None else urlencode({**kept, "offset": newer}),
            older=None if older is None else urlencode({**kept, "offset": older}),
        )

    async def event(self, request: Request, session: auth.Session) -> Response:
        p = request.path_params
        found, chain = await events.event_at(
            self.settings, self.servers, p["topic"], p["partition"], p["offset"]
        )
        if found is None:
            message = "No event or command at these Kafka coordinates (yet, or any more)."
            return self.render(request, "error.html", session, 404, message=message)
        return self.render(request, "event.html", session, found=found, chain=chain)

    async def rejected(self, request: Request, session: auth.Session) -> Response:
        params = request.query_params
        found = await rejected.recent_rejections(
            self.settings,
            self.servers,
            source=params.get("source") or None,
            reason=params.get("reason") or None,
        )
        bodies = {
            r.coordinates: mask_text(base64.b64decode(r.body_base64).decode(errors="replace"))
            for r in found
            if r.body_base64
        }
        return self.render(
            request,
            "rejected.html",
            session,
            found=found,
            params=params,
            bodies=bodies,
            sources=sorted({*self.settings.sources, rejected.UNKNOWN_SOURCE}),
            reasons=rejected.REASONS,
        )

    async def dlq(self, request: Request, session: auth.Session) -> Response:
        return await self._dlq_page(request, session, None)

    async def _dlq_page(
        self,
        request: Request,
        session: auth.Session,
        plan: dead_letters.ReplayPlan | None,
        params: dict[str, str] | None = None,
    ) -> Response:
        params = params if params is not None else dict(request.query_params)
        which = letter_filter(params)
        found = await dead_letters.letters(self.settings, self.servers, which)
        services = sorted(await _services(self.settings, self.servers))
        return self.render(
            request,
            "dlq.html",
            session,
            letters=found,
            params=params,
            plan=plan,
            services=services,
        )

    async def letter(self, request: Request, session: auth.Session) -> Response:
        where = request.query_params.get("dlq", "")
        found = await dead_letters.letters(
            self.settings, self.servers, dead_letters.LetterFilter(ids=(where,))
        )
        chosen = [entry for entry in found if entry.coordinates == where]
        if not chosen:
            return self.render(request, "error.html", session, 404, message="No such dead letter.")
        return self.render(
            request, "letter.html", session, entry=chosen[0], detail=chosen[0].detail()
        )

    async def replay(self, request: Request, session: auth.Session, form: FormData) -> Response:
        fields = {k: str(v) for k, v in form.items() if k in _FILTER_FIELDS and str(v)}
        chosen = [str(v) for v in form.getlist("letter")]
        everything = form.get("scope") == "filter"
        if not chosen and not everything:
            raise BadQuery("Select at least one dead letter, or replay the whole filter.")
        which = letter_filter(fields, [] if everything else chosen)
        dry_run = form.get("mode") != "replay"
        plan = await dead_letters.replay(
            self.settings,
            self.servers,
            which,
            embedded=bool(self.state.get("embedded")),
            dry_run=dry_run,
            by="console",
        )
        if not dry_run:
            log.info("console.dlq_replayed", count=len(plan.replayed))
        return await self._dlq_page(request, session, plan, fields)

    async def breakers(self, request: Request, session: auth.Session) -> Response:
        snapshots = await operations.breakers(self.settings, self.registry)
        return self.render(
            request,
            "breakers.html",
            session,
            breakers=snapshots,
            reset=request.query_params.get("reset"),
        )

    async def reset_breaker(
        self, request: Request, session: auth.Session, form: FormData
    ) -> Response:
        name = request.path_params["name"]
        snapshot = await operations.reset_breaker(self.settings, self.registry, name)
        if snapshot is None:
            return self.render(request, "error.html", session, 404, message="No such breaker.")
        log.info("console.breaker_reset", provider=name)
        return RedirectResponse(
            f"/console/breakers?{urlencode({'reset': name})}", 303, headers=SECURITY_HEADERS
        )

    async def reconcile(self, request: Request, session: auth.Session) -> Response:
        provider = request.query_params.get("provider") or None
        try:
            found = await reconcile.open_entities(self.store, time.time(), provider, limit=100)
        except reconcile.StoreUnavailable as exc:
            message = f"{exc}. Retry in a few seconds."
            return self.render(request, "error.html", session, 503, message=message)
        counted = reconcile.counters()
        providers = {*found.by_provider, *(counted.providers() if counted else ())}
        if provider is not None:
            providers.add(provider)  # the filter stays selectable when nothing matches it
        return self.render(
            request,
            "reconcile.html",
            session,
            found=found,
            counted=counted,
            provider=provider,
            providers=sorted(providers),
            buckets=_bucket_labels(),
        )

    async def sources(self, request: Request, session: auth.Session) -> Response:
        return self.render(
            request, "sources.html", session, sources=operations.sources(self.settings)
        )


# The console's forms are a few short fields; anything bigger was not sent by it.
MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> FormData | None:
    """The URL-encoded form the console's pages post; None for anything else."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields: list[tuple[str, str | UploadFile]] = list(
            parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        )
    except UnicodeDecodeError:
        return None
    return FormData(fields)


def _bucket_labels() -> list[tuple[str, str]]:
    """Each age bucket with the range it covers: ``≤ 5m``, ``5m – 1h``, …, ``> 1d``."""
    labels, previous = [], None
    for name, bound in reconcile.AGE_BUCKETS:
        if previous is None:
            labels.append((name, f"≤ {name}"))
        elif bound == float("inf"):
            labels.append((name, f"> {previous}"))
        else:
            labels.append((name, f"{previous} – {name}"))
        previous = name
    return labels


_FILTER_FIELDS = ("service", "reason", "error_class", "since", "until", "replayed")


async def _services(settings: HooklineSettings, servers: str) -> list[str]:
    return list(await dlq.dlq_topics(settings, servers, None))
