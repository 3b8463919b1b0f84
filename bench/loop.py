"""End to end: webhook in to effect at the simulator, through ``hookline run``, per hop.

    python bench/loop.py [--rate 200] [--duration 30] [--split] [--py-spy DIR]

Starts ``hookline run`` (ingress, reactor, workers and the provider simulators in
one process, the simulators' artificial delays at their default 0) or, with
``--split``, what a deployment runs: ``hookline serve``, ``hookline worker
reactor``, ``hookline worker sms`` and ``hookline sandbox`` as four processes;
from the shipped development configuration on free ports, against an embedded
broker in this process; then posts signed
Colt "order completed" webhooks at a steady rate. Each one is one chain: the
ingress writes the event (``hookline.events.colt``), the reactor the
``sms.send`` command it causes (``hookline.commands.sms``), the SMS worker calls
an SMS simulator and writes the call to ``hookline.audit.http`` (when the call
finished, and how long it took). The bench reads the three topics back and
joins each chain by ``causationid``. Hops, per webhook:

- ``ack``: the webhook's HTTP round trip (client sends → 202 read);
- ``in → event``: client sends → the event's Kafka timestamp (the ingress's
  produce);
- ``event → command``: the reactor's command after the event;
- ``command → call``: the SMS worker starting the provider call after the
  command (the call's finish time minus its latency);
- ``call``: the provider call at the simulator (request to answer);
- ``call → audit``: the call's end → its audit record's Kafka timestamp (the
  handler's emits, then the audit record's produce);
- ``in → effect``: client sends → the simulator answered the call (the effect
  is done by then).

Prints p50/p99 (and max) per hop in ms and the CPU per webhook of each process;
target: ``in → effect`` p99 < 50 ms. Timestamps are this machine's wall clock in
every process (one clock). ``--py-spy DIR`` samples each process during the
stream (``py-spy record --format raw``, one file per process) and prints where
its time went by function and by package.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaConsumer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the tests' devconfig: the shipped configuration on free ports

from tests.support.devconfig import on_free_ports  # noqa: E402

from hookline.bus.broker import free_port  # noqa: E402

SOURCE = "colt"
# Accepted and never reported back (docs/sandbox.md): the chain ends at the simulator.
SILENT = "+886912340003"
EVENTS, COMMANDS, AUDIT = "hookline.events.colt", "hookline.commands.sms", "hookline.audit.http"
HOPS = [
    "ack",
    "in → event",
    "event → command",
    "command → call",
    "call",
    "call → audit",
    "in → effect",
]


def config_for(path: Path, kafka: int, fetch_wait: int) -> tuple[str, str]:
    """The shipped configuration on free ports; returns the ingress's and an SMS simulator's URL."""
    text, ports = on_free_ports()
    config: dict[str, Any] = yaml.safe_load(text)
    config["kafka"]["bootstrap_servers"] = f"127.0.0.1:{kafka}"
    config["observability"] = {"log_level": "warning"}
    config.pop("redis_url", None)
    # The embedded broker holds an empty fetch for the whole fetch.max.wait.ms even when a
    # record arrives (Kafka answers at once): each hop would wait up to it (docs/worker.md).
    config["worker"] = {**config.get("worker", {}), "fetch_max_wait_ms": fetch_wait}
    # The shipped SMS limits (10/s) are the real gateways'; the stream sends more than that.
    for name in ("every8d", "mitake", "twilio"):
        config["providers"][name]["limits"] = {"max_concurrency": 64}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return (
        f"http://127.0.0.1:{ports['ingress']}",
        f"http://127.0.0.1:{ports['every8d']}",
    )


class Sender:
    """Signs Colt order callbacks with hookline's own scheme (as the simulator does) and posts them."""

    def __init__(self, config_path: Path, ingress_url: str) -> None:
        from hookline.config.loader import load_settings
        from hookline.signatures import Headers, SignedRequest, build_scheme

        settings = load_settings(config_path)
        self._scheme = build_scheme(settings.sources[SOURCE].verify)
        self._headers, self._request = Headers, SignedRequest
        self.url = f"{ingress_url}/webhooks/{SOURCE}"
        # event id -> (client send time, 202 read time), wall clock
        self.sent: dict[str, tuple[float, float]] = {}
        self.failed = 0

    def body(self, order: str) -> bytes:
        return json.dumps(
            {
                "eventId": f"evt_{order}",
                "eventType": "order.state_changed",
                "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "data": {
                    "orderId": order,
                    "quoteId": "Q-55012",
                    "purchaseOrderNumber": "PO-98765",
                    "previousStatus": "in_progress",
                    "status": "completed",
                    "percentComplete": 100,
                    "serviceId": "SVC-LOOP",
                    "estimatedCompletionDate": None,
                    "reason": None,
                    "technicalContacts": [
                        {
                            "name": "Ada",
                            "email": "ada@example.com",
                            "phone": SILENT,
                            "role": "primary",
                        }
                    ],
                },
            }
        ).encode()

    async def deliver(self, http: Any, order: str) -> None:
        body = self.body(order)
        unsigned = self._request(
            body=body, headers=self._headers({"content-type": "application/json"}), url=self.url
        )
        signed = self._scheme.sign(unsigned, time.time())
        started = time.time()
        try:
            async with http.post(self.url, data=body, headers=dict(signed.headers)) as response:
                answer = await response.read()
                status = response.status
        except Exception:
            self.failed += 1
            return
        if status != 202:
            self.failed += 1
            return
        self.sent[json.loads(answer)["id"]] = (started, time.time())

    async def stream(self, http: Any, count: int, rate: float, run: str) -> None:
        start = time.monotonic()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(self.deliver(http, f"ORD-{run}-{n:06d}")))
        await asyncio.gather(*tasks)


class Reader:
    """Every record of the three topics, as it arrives: (Kafka timestamp s, CloudEvent)."""

    def __init__(self, bootstrap: str) -> None:
        self.records: dict[str, list[tuple[float, dict[str, Any]]]] = {
            t: [] for t in (EVENTS, COMMANDS, AUDIT)
        }
        self._consumer = AIOKafkaConsumer(
            *self.records,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        self._task: asyncio.Task[None] | None = None
        self.last = time.monotonic()

    async def start(self) -> None:
        await self._consumer.start()
        # "latest" is resolved lazily: ask for the positions now, before anything is sent.
        for tp in self._consumer.assignment():
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    self.records[tp.topic].append(
                        (record.timestamp / 1000, json.loads(record.value))
                    )
                    self.last = time.monotonic()

    async def quiet(self, seconds: float = 3.0, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        # Polled: "quiet" is the absence of records, which nothing signals.
        while time.monotonic() - self.last < seconds and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def chains(sender: Sender, reader: Reader) -> tuple[dict[str, list[float]], int]:
    """Hop latencies in ms per webhook whose whole chain was read back; and how many were not."""
    events = {e["id"]: ts for ts, e in reader.records[EVENTS]}
    commands = {c["causationid"]: (ts, c["id"]) for ts, c in reader.records[COMMANDS]}
    calls: dict[str, tuple[float, float, float]] = {}
    for ts, a in reader.records[AUDIT]:
        data = a.get("data") or {}
        if a.get("type") == "hookline.http.call" and data.get("command_type") == "sms.send":
            end = parse_time(data["at"])
            calls.setdefault(data["command_id"], (end - data["latency_ms"] / 1000, end, ts))
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    missing = 0
    for event_id, (sent, acked) in sender.sent.items():
        event = events.get(event_id)
        command = commands.get(event_id)
        call = calls.get(command[1]) if command else None
        if event is None or command is None or call is None:
            missing += 1
            continue
        for hop, ms in zip(
            HOPS,
            (
                acked - sent,
                event - sent,
                command[0] - event,
                call[0] - command[0],
                call[1] - call[0],
                call[2] - call[1],
                call[1] - sent,
            ),
            strict=True,
        ):
            hops[hop].append(ms * 1000)
    return hops, missing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def processes(args: argparse.Namespace, config: Path) -> dict[str, list[str]]:
    """The hookline processes of this mode: name → command line."""
    hookline = [sys.executable, "-m", "hookline", "--config", str(config)]
    if not args.split:
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        return {"hookline run": [sys.executable, *profile, *hookline[1:], "run"]}
    # A deployment's pods (docs/kubernetes.md): the ingress, the reactor, the SMS worker;
    # the simulators stand for the providers. The other workers take no part in this chain.
    return {
        "serve": [*hookline, "serve"],
        "reactor": [*hookline, "worker", "reactor"],
        "sms": [*hookline, "worker", "sms"],
        "sandbox": [*hookline, "sandbox"],
    }


class Profiler:
    """py-spy sampling each process while the stream runs (raw collapsed stacks)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._spies: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, pids: dict[str, int]) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        for name, pid in pids.items():
            out = self.directory / f"{name.replace(' ', '-')}.txt"
            self._spies[name] = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--nonblocking",
                    "-r",
                    "50",
                    "-f",
                    "raw",
                    "-o",
                    str(out),
                    "-p",
                    str(pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        for spy in self._spies.values():
            spy.send_signal(signal.SIGINT)
        for spy in self._spies.values():
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()

    def report(self, top: int = 12) -> None:
        for name in self._spies:
            assert self.directory is not None
            path = self.directory / f"{name.replace(' ', '-')}.txt"
            if path.exists():
                print(summarize(name, path, top))


def summarize(name: str, path: Path, top: int) -> str:
    """Own time by function and inclusive time by package, from py-spy's raw output."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        seen = set()
        for frame in frames:
            match = re.search(r"\((?:.*/site-packages/|.*/src/)?([^/ )]+)", frame)
            package = match.group(1) if match else frame
            if package not in seen:
                seen.add(package)
                packages[package] += samples
    lines = [f"py-spy {name}: {total} samples ({path})", "  own time, by function:"]
    lines += [f"  {n / total:6.1%}  {f[:110]}" for f, n in own.most_common(top)] if total else []
    lines.append("  inclusive, by package / top-level module:")
    lines += [f"  {n / total:6.1%}  {p}" for p, n in packages.most_common(top)] if total else []
    return "\n".join(lines)


async def ready(url: str, path: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}{path}")).status_code < 500:
                    return
            await asyncio.sleep(0.5)
    raise SystemExit(f"{url}{path} not ready after {seconds:g}s")


async def bench(args: argparse.Namespace, work: Path) -> int:
    import aiohttp

    from hookline.bus.broker import EmbeddedBroker

    config_path = work / "hookline.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    profiler = Profiler(Path(args.py_spy) if args.py_spy else None)
    with EmbeddedBroker(port=free_port()) as broker:
        ingress, simulator = config_for(config_path, broker.port, args.fetch_wait_ms)
        log = (work / "run.log").open("wb")
        running = {
            name: subprocess.Popen(  # noqa: ASYNC220 (started once, before the measurement)
                command, stdout=log, stderr=subprocess.STDOUT, env=env
            )
            for name, command in processes(args, config_path).items()
        }
        pids = {name: p.pid for name, p in running.items()}
        reader = Reader(broker.bootstrap_servers)
        try:
            await ready(ingress, "/readyz")
            await ready(simulator, "/")
            sender = Sender(config_path, ingress)
            connector = aiohttp.TCPConnector(limit=256)
            async with aiohttp.ClientSession(connector=connector) as http:
                # Warm-up until a chain comes through: every consumer has joined its group.
                await reader.start()
                for _ in range(60):
                    await sender.stream(http, 5, 50, f"WARM{uuid.uuid4().hex[:4]}")
                    await asyncio.sleep(1)
                    if chains(sender, reader)[0]["in → effect"]:
                        break
                else:
                    raise SystemExit(f"no chain came through the warm-up (log: {work / 'run.log'})")
                await asyncio.sleep(2)
                sender.sent.clear()
                count = int(args.rate * args.duration)
                profiler.start(pids)
                cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
                wall = time.monotonic()
                load = os.getloadavg()
                await sender.stream(http, count, args.rate, uuid.uuid4().hex[:6].upper())
                await reader.quiet(seconds=1.0)
                # Each process's CPU per webhook (in one process, ingress, reactor, workers and
                # simulators share one event loop), and the share of one core it used.
                cpu = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
                wall = time.monotonic() - wall
                profiler.stop()
            await reader.quiet()
            hops, missing = chains(sender, reader)
        finally:
            await reader.stop()
            profiler.stop()
            for process in running.values():
                process.terminate()
            for process in running.values():
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
            log.close()
    mode = "4 processes (serve, reactor, sms worker, sandbox)" if args.split else "hookline run"
    print(
        f"loop bench: {mode}, {args.rate:g} webhooks/s for {args.duration:g} s "
        f"(Colt order completed → sms.send → SMS simulator), worker.fetch_max_wait_ms "
        f"{args.fetch_wait_ms}, {os.cpu_count()} CPUs, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"webhooks acknowledged: {len(sender.sent)}, failed: {sender.failed}, "
        f"chain not read back: {missing}"
    )
    acknowledged = max(len(sender.sent), 1)
    for name, seconds in cpu.items():
        print(
            f"{name} CPU: {seconds / acknowledged * 1e3:.2f} ms per webhook, "
            f"{seconds / wall:.0%} of one core"
        )
    if len(cpu) > 1:
        print(f"all processes CPU: {sum(cpu.values()) / acknowledged * 1e3:.2f} ms per webhook")
    print(f"{'hop':<18}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for hop in HOPS:
        values = hops[hop]
        if values:
            print(
                f"{hop:<18}{statistics.median(values):>9.1f}{percentile(values, 0.99):>9.1f}"
                f"{max(values):>9.1f}"
            )
    total = hops["in → effect"]
    if total:
        print(f"in → effect p99 {percentile(total, 0.99):.1f} ms   (target < 50 ms)")
    profiler.report()
    return 0 if total and not sender.failed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="webhooks per second (default 200)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of stream (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument(
        "--fetch-wait-ms", type=int, default=20, help="worker.fetch_max_wait_ms (default 20)"
    )
    parser.add_argument(
        "--profile", help="run hookline run under cProfile, writing the stats here (not --split)"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="serve, reactor, sms worker and simulators as separate processes",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="sample each process with py-spy during the stream; raw stacks and a summary",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hookline-loop-"))
    code = 1
    try:
        code = asyncio.run(bench(args, work))
    finally:
        if args.keep or code != 0:
            print(f"working directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
