"""Ingress throughput against bare Starlette and the peers a user would build instead, in one run.

    python bench/ingress.py [--duration 10] [--connections 64 256] [--rounds 1] [--body-bytes 1024]
                            [--redis]

Starts the embedded broker and, each under uvicorn with the same settings and
pinned to the same CPU: a bare Starlette app that only reads the body and
answers 202; hookline's ingress (verify hmac → normalize → publish with
acks=all → 202); the naive peer (Starlette + HMAC + aiokafka ``send_and_wait``
per request); and the minimal librdkafka peer (Starlette + HMAC +
confluent-kafka ``produce``, a delivery callback resolving the request's
future), both acks=all (bench/peers/). wrk (installed by `make bench` when
missing) loads each in turn from the other CPU, at each connection count.
Prints requests/s, p50, p99 and server CPU per request (the server process's
user + system time over the run, /proc) and hookline's ratio to bare and to
each peer. With --rounds N the servers run in a rotated order each round and
the medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hookline.bus.broker import EmbeddedBroker, free_port  # noqa: E402

SECRET = "bench-secret-0123456789"
CONFIG = """
server: {{host: 127.0.0.1, port: {port}, max_body_bytes: 1048576, publish_timeout_seconds: 10}}
{redis}kafka: {{bootstrap_servers: "127.0.0.1:{kafka}", idempotence: "off", topic_prefix: bench, partitions: 6}}
observability: {{log_level: warning}}
sources:
  bench:
    provider: standard
    dedup: {dedup}
    verify: {{scheme: hmac, header: X-Bench-Signature, prefix: "sha256=", secrets: ["{secret}"]}}
"""
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Bench-Signature"] = "{signature}"
"""
# The dedup rows: every request a delivery of its own (the id is not signed: hmac signs
# the body), under a prefix of its own per wrk run (Redis keeps the keys between runs).
LUA_UNIQUE = """
local prefix = string.format("%x-%x-", os.time(), math.floor(os.clock() * 1e6))
local n = 0
request = function()
  n = n + 1
  wrk.headers["webhook-id"] = prefix .. n
  return wrk.format()
end
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, script: Path, duration: int, connections: int, pin: list[str], pid: int
) -> dict[str, float]:
    # Warm-up so that JIT-less Python caches, connections and the producer are settled.
    warm = [*pin, "wrk", "-t1", f"-c{connections}", "-d2s", "-s", str(script), url]
    subprocess.run(warm, capture_output=True, check=True)
    cmd = [
        *pin,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    cpu = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored to wrk's "Latency Distribution" lines (a stdev of "67.50%" must not match).
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "timeouts": float(timeouts.group(1)) if timeouts else 0.0,
        "cpu_us": cpu / max(requests, 1) * 1e6,
    }


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


@contextlib.contextmanager
def redis_server(wanted: bool) -> Iterator[str]:
    """A redis-server of the bench's own (nothing on disk), on the load generator's side."""
    if not wanted:
        yield ""
        return
    port = free_port()
    process = subprocess.Popen(
        [*("redis-server", "--port", str(port), "--bind", "127.0.0.1"), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


SERVERS = ["bare starlette", "hookline", "naive aiokafka", "librdkafka"]
# --redis: hookline deduplicating every delivery, in-process store vs redis_url.
DEDUP = {"hookline dedup mem": False, "hookline dedup redis": True}
PEERS = {
    "bare starlette": "bench.bare_app:app",
    "naive aiokafka": "bench.peers.naive_aiokafka:app",
    "librdkafka": "bench.peers.librdkafka_app:app",
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--only", nargs="+", choices=SERVERS + list(DEDUP), default=SERVERS)
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also hookline deduplicating every delivery: in-process store vs redis_url",
    )
    args = parser.parse_args()
    if args.redis:
        args.only = [*args.only, *(name for name in DEDUP if name not in args.only)]
    if any(name in DEDUP for name in args.only) and not shutil.which("redis-server"):
        raise SystemExit("--redis needs redis-server (apt-get install redis-server)")
    if not shutil.which("wrk"):
        raise SystemExit("bench needs wrk (make bench installs it: apt-get install wrk)")
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        raise SystemExit(
            "the librdkafka peer needs confluent-kafka: pip install -e '.[bench]'"
        ) from None

    pad = "x" * max(0, args.body_bytes - 60)
    body = json.dumps({"type": "bench.tick", "data": {"id": "b1", "pad": pad}})
    signature = "sha256=" + hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    server_pin, load_pin = cpus()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    # (server, connections) -> one result per round
    results: dict[tuple[str, int], list[dict[str, float]]] = {}

    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedBroker(port=free_port()) as broker,
        redis_server(any(name in DEDUP for name in args.only)) as redis_url,
    ):
        asyncio.run(create_topics(broker.bootstrap_servers))
        script = Path(tmp) / "post.lua"
        script.write_text(LUA.format(body=json.dumps(body), signature=signature))
        unique_script = Path(tmp) / "unique.lua"
        unique_script.write_text(script.read_text() + LUA_UNIQUE)
        uvicorn_flags = [
            "--host",
            "127.0.0.1",
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
        peer_env = {
            **env,
            "PYTHONPATH": str(ROOT),
            "BENCH_BOOTSTRAP": broker.bootstrap_servers,
            "BENCH_SECRET": SECRET,
            "BENCH_TOPIC": "bench.events.bench",
        }
        for round_no in range(args.rounds):
            shift = round_no % len(args.only)
            for name in args.only[shift:] + args.only[:shift]:
                port = free_port()
                if name == "hookline" or name in DEDUP:
                    redis = f"redis_url: {redis_url}\n" if DEDUP.get(name) else ""
                    config = Path(tmp) / "hookline.yaml"
                    config.write_text(
                        CONFIG.format(
                            port=port,
                            kafka=broker.port,
                            secret=SECRET,
                            redis=redis,
                            dedup="true" if name in DEDUP else "false",
                        )
                    )
                    cmd = [
                        *server_pin,
                        sys.executable,
                        "-m",
                        "hookline",
                        "--config",
                        str(config),
                        "serve",
                    ]
                    process = serve(cmd, port, env)
                else:
                    cmd = [
                        *server_pin,
                        sys.executable,
                        "-m",
                        "uvicorn",
                        PEERS[name],
                        "--port",
                        str(port),
                        *uvicorn_flags,
                    ]
                    process = serve(cmd, port, peer_env)
                try:
                    for connections in args.connections:
                        result = run_wrk(
                            f"http://127.0.0.1:{port}/webhooks/bench",
                            unique_script if name in DEDUP else script,
                            args.duration,
                            connections,
                            load_pin,
                            process.pid,
                        )
                        results.setdefault((name, connections), []).append(result)
                finally:
                    stop(process)

    def median(name: str, connections: int, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, connections)])

    rounds = f", median of {args.rounds} rounds (order rotated)" if args.rounds > 1 else ""
    print(
        f"ingress bench: {args.body_bytes} B bodies, {args.duration}s each{rounds}, 202 after acks=all; "
        f"server on 1 CPU, wrk on another; {os.cpu_count()} CPUs"
    )
    for connections in args.connections:
        print(f"\n{connections} connections")
        print(
            f"{'server':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU/req us':>12}{'non-2xx':>9}{'timeouts':>10}"
        )
        for name in args.only:
            row = [
                median(name, connections, k)
                for k in ("rps", "p50", "p99", "cpu_us", "non2xx", "timeouts")
            ]
            print(
                f"{name:<22}{row[0]:>9.0f}{row[1]:>9.2f}{row[2]:>9.2f}{row[3]:>12.0f}{row[4]:>9.0f}{row[5]:>10.0f}"
            )
        if "hookline" in args.only:
            hook = median("hookline", connections, "rps")
            ratios = [
                f"{other} {hook / median(other, connections, 'rps'):.2f}"
                for other in args.only
                if other != "hookline"
            ]
            print("hookline req/s ratio to: " + ", ".join(ratios))
        if all(name in args.only for name in DEDUP):
            memory, redis = (median(name, connections, "rps") for name in DEDUP)
            print(f"dedup with redis_url / in-process store, req/s: {redis / memory:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
