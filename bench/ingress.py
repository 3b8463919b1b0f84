"""Ingress throughput against bare Starlette, measured in the same run.

    python bench/ingress.py [--duration 10] [--connections 64] [--body-bytes 1024]

Starts the embedded broker, hookline's ingress (verify hmac → normalize →
publish with acks=all → 202) and a bare Starlette app that only reads the body
and answers 202, each under uvicorn with the same settings, pinned to the same
CPU. wrk (installed by `make bench` when missing) loads both in turn from the
other CPU. Prints requests/s, p50 and p99 for each and the ratio hookline/bare.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hookline.bus.broker import EmbeddedBroker, free_port  # noqa: E402

SECRET = "bench-secret-0123456789"
CONFIG = """
server: {{host: 127.0.0.1, port: {port}, max_body_bytes: 1048576, publish_timeout_seconds: 10}}
kafka: {{bootstrap_servers: "127.0.0.1:{kafka}", idempotence: "off", topic_prefix: bench, partitions: 6}}
observability: {{log_level: warning}}
sources:
  bench:
    provider: standard
    dedup: false
    verify: {{scheme: hmac, header: X-Bench-Signature, prefix: "sha256=", secrets: ["{secret}"]}}
"""
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Bench-Signature"] = "{signature}"
"""


def cpus() -> tuple[list[str], list[str]]:
    """Server on CPU 0, load generator on the last CPU (when there are two or more).

    The broker and this script also keep off CPU 0: in production Kafka runs on
    other machines, and a broker scheduled onto the server's CPU would charge
    its work to hookline (bare Starlette has no broker to share with).
    """
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        last = (os.cpu_count() or 2) - 1
        os.sched_setaffinity(0, {last})  # inherited by the broker started below
        return ["taskset", "-c", "0"], ["taskset", "-c", str(last)]
    return [], []


def wait_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, script: Path, duration: int, connections: int, pin: list[str]) -> dict[str, float]:
    # Warm-up so that JIT-less Python caches, connections and the producer are settled.
    warm = [*pin, "wrk", "-t1", f"-c{connections}", "-d2s", "-s", str(script), url]
    subprocess.run(warm, capture_output=True, check=True)
    cmd = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored to wrk's "Latency Distribution" lines (a stdev of "67.50%" must not match).
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": float(bad.group(1)) if bad else 0.0,
            "socket_errors": 1.0 if errors else 0.0}


def serve(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


async def create_topics(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic("bench.events.bench", 6, 1)])
    finally:
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--body-bytes", type=int, default=1024)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench needs wrk (make bench installs it: apt-get install wrk)")

    pad = "x" * max(0, args.body_bytes - 60)
    body = json.dumps({"type": "bench.tick", "data": {"id": "b1", "pad": pad}})
    signature = "sha256=" + hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    server_pin, load_pin = cpus()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    results: dict[str, dict[str, float]] = {}

    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
        asyncio.run(create_topics(broker.bootstrap_servers))
        script = Path(tmp) / "post.lua"
        script.write_text(LUA.format(body=json.dumps(body), signature=signature))
        uvicorn_flags = ["--host", "127.0.0.1", "--no-access-log", "--no-proxy-headers", "--log-level", "warning"]

        port = free_port()
        bare = serve([*server_pin, sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), *uvicorn_flags],
                     port, {**env, "PYTHONPATH": str(ROOT)})
        try:
            results["bare starlette"] = run_wrk(f"http://127.0.0.1:{port}/webhooks/bench", script, args.duration, args.connections, load_pin)
        finally:
            stop(bare)

        port = free_port()
        config = Path(tmp) / "hookline.yaml"
        config.write_text(CONFIG.format(port=port, kafka=broker.port, secret=SECRET))
        hook = serve([*server_pin, sys.executable, "-m", "hookline", "--config", str(config), "serve"], port, env)
        try:
            results["hookline"] = run_wrk(f"http://127.0.0.1:{port}/webhooks/bench", script, args.duration, args.connections, load_pin)
        finally:
            stop(hook)

    print(f"ingress bench: {args.connections} connections, {args.body_bytes} B bodies, {args.duration}s each, 202 after acks=all")
    print(f"{'server':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, r in results.items():
        print(f"{name:<16}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['non2xx']:>10.0f}")
    ratio = results["hookline"]["rps"] / results["bare starlette"]["rps"]
    print(f"ratio hookline/bare: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
