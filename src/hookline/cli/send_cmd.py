"""``hookline sign`` and ``hookline send``: what a provider would send, signed as it signs."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hookline.cli.common import ingress_url, load
from hookline.cli.follow import Follower
from hookline.config.models import HooklineSettings, bootstrap
from hookline.errors import ConfigError
from hookline.providers.base import Sample
from hookline.providers.registry import PROVIDERS
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest


def register(sub: Any) -> None:
    sign = sub.add_parser("sign", help="print the headers a provider would send for FILE")
    sign.add_argument("source", help="a source name from the configuration")
    sign.add_argument("file", help="payload file, or a sample name")
    sign.set_defaults(func=run_sign)

    send = sub.add_parser("send", help="sign a payload as the provider would and POST it")
    send.add_argument("source", help="a source name from the configuration")
    send.add_argument(
        "sample", nargs="?", help="payload file or sample name (default: first sample)"
    )
    send.add_argument("--count", type=int, default=1, help="how many deliveries (default 1)")
    send.add_argument(
        "--rate", type=float, help="deliveries per second (default: as fast as possible)"
    )
    send.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    send.add_argument("--url", help="ingress base URL (default: from server.host/port)")
    send.add_argument(
        "--same-id",
        action="store_true",
        help="repeat one delivery id (to see dedup) instead of new ids",
    )
    send.add_argument(
        "--follow",
        action="store_true",
        help="after the receipt, print the stored record and everything it causes as it arrives",
    )
    send.add_argument(
        "--wait",
        type=float,
        default=10.0,
        help="with --follow: stop once nothing arrived for this many seconds (default 10)",
    )
    send.set_defaults(func=run_send)


def resolve_payload(settings: HooklineSettings, source: str, name: str | None) -> Sample:
    if source not in settings.sources:
        known = ", ".join(sorted(settings.sources)) or "none configured"
        raise ConfigError(f"unknown source {source!r} (known: {known})")
    provider = settings.sources[source].provider
    samples = PROVIDERS[provider].samples()
    if name is None:
        if not samples:
            raise ConfigError(f"provider {provider} ships no sample; give a payload file")
        return samples[0]
    for sample in samples:
        if sample.name == name:
            return sample
    path = Path(name)
    if not path.exists():
        names = ", ".join(s.name for s in samples) or "none"
        raise ConfigError(f"{name} is neither a file nor a sample of {provider} (samples: {names})")
    content_type = (
        "application/json" if path.suffix == ".json" else "application/x-www-form-urlencoded"
    )
    return Sample(path.stem, path.read_bytes(), content_type)


def signed_request(
    settings: HooklineSettings, source: str, sample: Sample, base_url: str, delivery_id: str | None
) -> SignedRequest:
    """The request as the provider would send it: its own headers, a delivery id, its signature.

    Twilio signs the public URL (``server.public_base_url``); for JSON bodies
    the signed URL gains ``bodySHA256``, and token sources gain their query
    parameter, so the URL is part of what is printed and posted.
    """
    source_settings = settings.sources[source]
    options = source_settings.verify
    url = f"{(settings.server.public_base_url or base_url).rstrip('/')}/webhooks/{source}"
    headers = {"content-type": sample.content_type}
    body = sample.body
    stamp = PROVIDERS[source_settings.provider].extras.get("delivery")
    if stamp is not None:
        # The provider's own delivery headers (X-GitHub-Delivery, X-Shopify-Event-Id, …)
        # or its body-borne event id (Stripe, Slack), fresh per request unless pinned.
        body, extra = stamp(sample, delivery_id)
        headers.update(extra)
    elif options.scheme == "standard-webhooks":
        headers["webhook-id"] = delivery_id or f"msg_{uuid.uuid4().hex}"
    request = SignedRequest(body=body, headers=Headers(headers), url=url)
    return build_scheme(options).sign(request, time.time())


async def run_sign(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    sample = resolve_payload(settings, args.source, args.file)
    request = signed_request(settings, args.source, sample, ingress_url(settings), None)
    # The URL matters for URL-signing schemes (Twilio): it is the one the signature covers.
    print(f"POST {request.url}")
    for key, value in request.headers.items():
        print(f"{key}: {value}")
    if request.body != sample.body:
        print()
        print(request.body.decode("utf-8", errors="replace"))
    return 0


@dataclass
class _Tally:
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    duplicates: int = 0
    last_body: str = ""

    def answer(self, status: int, text: str) -> None:
        """Count one answer; a receipt saying ``duplicate`` counts as a duplicate too."""
        self.statuses.append(status)
        self.last_body = text
        if status < 300 and '"duplicate":true' in text.replace(" ", ""):
            self.duplicates += 1

    def summary(self, sent: int, elapsed: float) -> dict[str, Any]:
        """What ``send --count N`` prints: answers by class, latency, rate."""
        by_class = {c: sum(1 for s in self.statuses if s // 100 == c) for c in (2, 4, 5)}
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000 if lat else 0.0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
        return {
            "sent": sent,
            "2xx": by_class[2],
            "duplicates": self.duplicates,
            "4xx": by_class[4],
            "5xx": by_class[5],
            "errors": self.errors,
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
            "per_second": round(sent / elapsed, 1) if elapsed else None,
        }


@dataclass
class _Sender:
    """Posts signed deliveries of one sample, at most ``concurrency`` at once, and tallies them."""

    settings: HooklineSettings
    source: str
    sample: Sample
    base: str
    client: httpx.AsyncClient
    slots: asyncio.Semaphore
    fixed_id: str | None = None
    tally: _Tally = field(default_factory=_Tally)

    async def one(self) -> None:
        """One delivery; releases its slot whatever happens."""
        delivery_id = self.fixed_id or f"msg_{uuid.uuid4().hex}"
        request = signed_request(self.settings, self.source, self.sample, self.base, delivery_id)
        target = request.url.replace(
            self.settings.server.public_base_url or self.base, self.base, 1
        )
        started = time.perf_counter()
        try:
            response = await self.client.post(
                target, content=request.body, headers=dict(request.headers)
            )
        except httpx.HTTPError as exc:
            self.tally.errors += 1
            self.tally.last_body = f"{type(exc).__name__}: cannot reach {self.base}"
            return
        finally:
            self.slots.release()
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.answer(response.status_code, response.text)

    async def many(self, count: int, rate: float | None, progress: Progress) -> float:
        """``count`` deliveries at ``rate`` per second (or as fast as the slots allow); seconds taken."""
        task = progress.add_task("send", total=count)
        interval = 1.0 / rate if rate else 0.0
        jobs = []
        started = time.perf_counter()
        for index in range(count):
            if interval:
                delay = started + index * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.slots.acquire()
            job = asyncio.create_task(self.one())
            job.add_done_callback(lambda _: progress.advance(task))
            jobs.append(job)
        await asyncio.gather(*jobs)
        return time.perf_counter() - started


async def run_send(args: argparse.Namespace) -> int:
    settings = load(args, logging=False)
    if args.count < 1 or args.concurrency < 1:
        raise ConfigError("--count and --concurrency must be at least 1")
    sample = resolve_payload(settings, args.source, args.sample)
    if not args.follow:
        return await _send(args, settings, sample)
    if args.count != 1:
        raise ConfigError("--follow follows one delivery: leave out --count")
    servers, _ = bootstrap(settings.kafka)
    # Reading from before the send: nothing the delivery causes can slip past.
    async with Follower(settings, servers) as follower:
        return await _send(args, settings, sample, follower)


async def _send(
    args: argparse.Namespace,
    settings: HooklineSettings,
    sample: Sample,
    follower: Follower | None = None,
) -> int:
    base = args.url or ingress_url(settings)
    show_progress = args.count > 1 and sys.stderr.isatty()
    async with httpx.AsyncClient(timeout=30.0) as client:
        sender = _Sender(
            settings,
            args.source,
            sample,
            base,
            client,
            asyncio.Semaphore(args.concurrency),
            fixed_id=f"msg_{uuid.uuid4().hex}" if args.same_id else None,
        )
        columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=not show_progress, transient=True) as progress:
            elapsed = await sender.many(args.count, args.rate, progress)
    tally = sender.tally
    if args.count == 1:
        status = tally.statuses[0] if tally.statuses else "error"
        print(f"{status} {tally.last_body}", flush=True)
        ok = bool(tally.statuses) and tally.statuses[0] < 300
        if ok and follower is not None:
            return await _follow(tally.last_body, follower, args.wait)
        return 0 if ok else 1
    summary = tally.summary(args.count, elapsed)
    print(json.dumps(summary))
    return 0 if summary["2xx"] == args.count else 1


async def _follow(answer: str, follower: Follower, wait: float) -> int:
    """Print the stored record and its descendants (a receipt names where the record is)."""
    try:
        receipt = json.loads(answer)
    except ValueError:
        receipt = None
    if not isinstance(receipt, dict) or "topic" not in receipt:
        print(
            "hookline: the answer is no receipt (a provider's own acknowledgement?)",
            file=sys.stderr,
        )
        return 1
    if receipt.get("duplicate"):
        # What it caused happened when it was first stored: read that back instead.
        print(f"a repeat: its chain is `hookline trace {receipt['id']}`", file=sys.stderr)
        return 0
    follower.include(receipt["topic"], int(receipt["partition"]), int(receipt["offset"]))
    printed = await follower.follow(str(receipt["id"]), wait, lambda text: print(text, flush=True))
    if not printed:
        print(f"hookline: nothing of {receipt['id']} arrived within {wait:g}s", file=sys.stderr)
        return 1
    return 0
