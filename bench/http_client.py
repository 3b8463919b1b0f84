"""What the resilient client costs per call, against a bare ``httpx.AsyncClient`` in the same run.

A bare Starlette app (``bench/bare_app.py``) runs under uvicorn in its own
process; this process calls it sequentially and with 32 concurrent callers,
first with raw httpx (the baseline), then through ``ApiClient`` with the
in-process breaker and limiter, with API key + HMAC signing, and with the
breaker and rate-limit window shared through a real redis-server.

    .venv/bin/python bench/http_client.py [--calls 800] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from hookline.bus.broker import free_port
from hookline.config.models import ProviderSettings
from hookline.http import ApiClient
from hookline.http.registry import BreakerRegistry
from hookline.observability.logging import configure_logging

ROOT = Path(__file__).resolve().parent.parent
PATH = "/webhooks/bench"
BODY = {"message": "x" * 512}


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def spawn(argv: list[str], port: int, cpu: str | None) -> subprocess.Popen[bytes]:
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", cpu, *argv]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return process


async def measure(call: Callable[[], Awaitable[object]], calls: int, concurrency: int) -> float:
    """Calls per second."""
    for _ in range(50):
        await call()
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return calls / (time.perf_counter() - started)


def provider(url: str, **extra: object) -> ProviderSettings:
    data: dict[str, object] = {
        "base_url": url,
        "limits": {"max_concurrency": 64, "max_connections": 64},
        "breaker": {"failure_threshold": 1000},
    }
    data.update(extra)
    return ProviderSettings.model_validate(data)


async def run(calls: int, rounds: int) -> None:
    port = free_port()
    server = spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        port,
        "1" if (os.cpu_count() or 1) > 1 else None,
    )
    redis_port = free_port()
    redis = None
    if shutil.which("redis-server"):
        redis = spawn(
            ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            redis_port,
            "1",
        )
    url = f"http://127.0.0.1:{port}"
    signing = {
        "type": "api_key",
        "value": "bench-key-123456",
        "signing": {"secret": "bench-secret-123456"},
    }
    try:
        raw = httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=64))
        clients: dict[str, ApiClient] = {
            "ApiClient (memory breaker/limits)": ApiClient(
                "bench-a", provider(url), registry=BreakerRegistry()
            ),
            "ApiClient + api key + HMAC signing": ApiClient(
                "bench-b", provider(url, auth=signing), registry=BreakerRegistry()
            ),
        }
        if redis is not None:
            clients["ApiClient, Redis breaker + 10k/s window"] = ApiClient(
                "bench-c",
                provider(url, limits={"requests_per_second": 10_000, "max_concurrency": 64}),
                redis_url=f"redis://127.0.0.1:{redis_port}/0",
                registry=BreakerRegistry(),
            )
        # Rounds interleave baseline and clients, and ratios are taken within a round,
        # so load from other processes on the machine hits both sides alike.
        labels = ["httpx.AsyncClient (baseline)", *clients]
        calls_for: dict[str, Callable[[], Awaitable[object]]] = {
            labels[0]: lambda: raw.post(PATH, json=BODY)
        }
        for label, client in clients.items():

            def call(c: ApiClient = client) -> Awaitable[object]:
                return c.request("POST", PATH, json=BODY, endpoint="bench", idempotency_key="k")

            calls_for[label] = call
        seq: dict[str, list[float]] = {label: [] for label in labels}
        conc: dict[str, list[float]] = {label: [] for label in labels}
        for _ in range(rounds):
            for label in labels:
                seq[label].append(await measure(calls_for[label], calls // 4, 1))
                conc[label].append(await measure(calls_for[label], calls, 32))
        print(
            f"{'client':<42} {'seq/s':>8} {'ratio':>6} {'32 conc/s':>10} {'ratio':>6}   (median of {rounds} rounds)"
        )
        for label in labels:
            seq_ratio = statistics.median(
                a / b for a, b in zip(seq[label], seq[labels[0]], strict=True)
            )
            conc_ratio = statistics.median(
                a / b for a, b in zip(conc[label], conc[labels[0]], strict=True)
            )
            print(
                f"{label:<42} {statistics.median(seq[label]):>8.0f} {seq_ratio:>6.2f}"
                f" {statistics.median(conc[label]):>10.0f} {conc_ratio:>6.2f}"
            )
        for client in clients.values():
            await client.aclose()
        await raw.aclose()
    finally:
        server.terminate()
        server.wait(5)
        if redis is not None:
            redis.terminate()
            redis.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=800, help="calls per concurrent measurement")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # The per-call log line is part of the cost; rendering it, not a terminal, is measured.
    configure_logging("info", "json", stream=open(os.devnull, "w"))  # noqa: SIM115
    asyncio.run(run(args.calls, args.rounds))


if __name__ == "__main__":
    main()
