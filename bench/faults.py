"""Faults under load: nothing acknowledged is lost, no effect happens twice.

    python bench/faults.py [--rate 50] [--duration 60] [--redis-wipe] [--keep]

Starts the loop as separate processes, the way an operator would run it: a
``redis-server`` on a free port (dedup, idempotency and message stores),
``hookline broker``, ``hookline serve``, ``hookline sandbox`` (the SMS
simulators), ``hookline worker reactor`` and ``hookline worker sms``. Then it
posts signed Colt "order completed" webhooks at a fixed rate; each one makes
the reactor publish an ``sms.send`` command, so each acknowledged webhook must
end in exactly one SMS at a simulator. The client behaves like a provider: a
503 or a broken connection is retried with the same delivery (same event id).

While the stream runs it pauses the broker (SIGSTOP, then SIGCONT), kills
Redis and starts it again, and SIGKILLs the SMS worker and the reactor
(restarting each). Afterwards it waits until every order has its SMS or a
dead letter, reads the events, commands and dead letters back from Kafka,
asks every SMS simulator what it received (``GET /_sim/state``), and prints
one table. It exits non-zero when a 2xx webhook's event is missing from Kafka
(lost), when an order's SMS reached a simulator twice (duplicate effects), or
when an event in Kafka ended in neither an SMS nor a dead letter
(unaccounted). How to read the table: docs/faults.md.

Only public surfaces are used: the CLI, the configuration file, HTTP, the
simulators' admin API and the documented Kafka topics; webhooks are signed
in-process with hookline's signature schemes (what ``hookline sign`` uses).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yaml
from aiokafka import AIOKafkaConsumer

from hookline.bus.broker import free_port

ROOT = Path(__file__).resolve().parents[1]
HOOKLINE = [sys.executable, "-m", "hookline"]
sys.path.insert(0, str(ROOT))  # the tests' devconfig: the shipped configuration on free ports
SMS_SIMULATORS = ("every8d", "mitake", "twilio")
SOURCE = "colt"
# The SMS simulators deliver to the first and report to hookline; numbers ending in
# 0003 are accepted and never reported (docs/sandbox.md), which keeps the callback
# leg to a share of the stream on a small machine.
REPORTED, SILENT = "+886912345678", "+886912340003"


# -- processes -----------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (``hookline broker`` runs the broker as its child)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # The command name may hold spaces and parentheses: split after the last ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
    return children


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Process:
    """One long-running command, its output in ``logs/<name>.log``."""

    name: str
    argv: list[str]
    logs: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    cpu_before: float = 0.0  # used by the earlier runs of this command

    def cpu(self) -> float:
        return self.cpu_before + (cpu_seconds(self.pid) if self.alive() else 0.0)

    def start(self) -> Process:
        self.starts += 1
        log = (self.logs / f"{self.name}.log").open("ab")
        log.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        return (self.logs / f"{self.name}.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no handler runs, nothing is flushed."""
        if self.alive():
            assert self.popen is not None
            self.cpu_before += cpu_seconds(self.pid)
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


async def until(check: Any, what: str, timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            value = await check()
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:g}s")
        await asyncio.sleep(every)


async def port_open(port: int) -> bool:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    return True


# -- configuration -------------------------------------------------------------------------


@dataclass
class Ports:
    ingress: int
    kafka: int
    redis: int
    sims: dict[str, int]

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress}"

    def sim_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.sims[name]}"


def bench_config(path: Path, text: str, ports: Ports, args: argparse.Namespace) -> dict[str, Any]:
    """The shipped development configuration on free ports (``text``), with Redis and the
    bench's knobs."""
    config: dict[str, Any] = yaml.safe_load(text)
    config["kafka"]["bootstrap_servers"] = f"127.0.0.1:{ports.kafka}"
    config["redis_url"] = f"redis://127.0.0.1:{ports.redis}/0"
    config["observability"] = {"log_level": args.log_level}
    # A restarted member is let in after this, not after the default 10 s (docs/faults.md).
    config["worker"] = {
        "session_timeout_ms": 3000,
        "heartbeat_interval_ms": 500,
        "idempotency_lease_seconds": args.lease,
        "retry_tiers": args.retry_tiers,
    }
    # The shipped SMS limits (10/s) are the real gateways'; the stream sends more than that.
    for name in SMS_SIMULATORS:
        config["providers"][name]["limits"] = {"max_concurrency": 32}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


# -- the loop ------------------------------------------------------------------------------


class Loop:
    """Redis, the broker, the simulators, the ingress and two workers, each its own process."""

    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.args = args
        from tests.support.devconfig import on_free_ports

        text, moved = on_free_ports()
        self.ports = Ports(moved.pop("ingress"), free_port(), free_port(), moved)
        self.config_path = work / "hookline.yaml"
        self.config = bench_config(self.config_path, text, self.ports, args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        for key in ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID"):
            env.pop(key, None)
        env["PYTHONUNBUFFERED"] = "1"
        hookline = [*HOOKLINE, "--config", str(self.config_path)]
        redis = shutil.which("redis-server")
        if redis is None:
            raise SystemExit(
                "redis-server is missing: run `make redis` (scripts/install-package.sh)"
            )
        (work / "redis").mkdir(exist_ok=True)
        redis_argv = [
            redis,
            "--port",
            str(self.ports.redis),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(work / "redis"),
        ]
        # An append-only file synced every second, as production Redis usually runs: a SIGKILL
        # loses up to a second of writes. --redis-wipe restarts it empty (every key lost).
        redis_argv += (
            ["--appendonly", "no"]
            if args.redis_wipe
            else ["--appendonly", "yes", "--appendfsync", "everysec"]
        )

        def proc(name: str, argv: list[str]) -> Process:
            return Process(name, argv, self.logs, env)

        self.redis = proc("redis", redis_argv)
        self.broker = proc("broker", [*hookline, "broker", "--port", str(self.ports.kafka)])
        self.sandbox = proc("sandbox", [*hookline, "sandbox", "--only", *SMS_SIMULATORS])
        self.ingress = proc("ingress", [*hookline, "serve"])
        self.reactor = proc("reactor", [*hookline, "worker", "reactor"])
        self.sms = proc("sms", [*hookline, "worker", "sms"])
        self.hookline = hookline
        self.env = env

    @property
    def processes(self) -> list[Process]:
        return [self.redis, self.broker, self.sandbox, self.ingress, self.reactor, self.sms]

    def broker_pid(self) -> int:
        """The broker itself (tansu), not the ``hookline broker`` process that waits on it."""
        children = child_pids(self.broker.pid)
        if len(children) != 1:
            raise RuntimeError(f"hookline broker has children {children}, expected one broker")
        return children[0]

    async def start(self) -> None:
        self.redis.start()
        await until(lambda: port_open(self.ports.redis), "redis-server", 20)
        self.broker.start()
        await until(lambda: port_open(self.ports.kafka), "hookline broker", 30)
        await until(self._create_topics, "hookline topics create", 60, every=1)
        self.sandbox.start()
        async with httpx.AsyncClient(timeout=2) as http:
            for name in SMS_SIMULATORS:
                url = f"{self.ports.sim_url(name)}/_sim/state"
                await until(lambda u=url: _ok(http.get(u)), f"simulator {name}", 60)
            self.ingress.start()
            readyz = f"{self.ports.ingress_url}/readyz"
            await until(lambda: _ok(http.get(readyz)), "hookline serve (/readyz)", 60)
        self.reactor.start()
        self.sms.start()
        for worker in (self.reactor, self.sms):
            await until(lambda w=worker: _running(w), f"hookline worker {worker.name}", 60)

    async def _create_topics(self) -> bool:
        result = await asyncio.to_thread(
            subprocess.run,
            [*self.hookline, "topics", "create"],
            env=self.env,
            capture_output=True,
            check=False,
            timeout=60,
        )
        return result.returncode == 0

    def stop(self) -> None:
        broker: int | None = None
        with contextlib.suppress(Exception):
            broker = self.broker_pid()
            # A paused broker ignores every signal but SIGKILL until it runs again.
            os.kill(broker, signal.SIGCONT)
        for process in reversed(self.processes):
            # SIGINT for `hookline broker`: it stops its broker child on KeyboardInterrupt.
            process.stop(signal.SIGINT if process is self.broker else signal.SIGTERM)
        if broker is not None and self._is_our_broker(broker):
            # Never leave the broker behind, even when `hookline broker` did not stop it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(broker, signal.SIGKILL)

    def _is_our_broker(self, pid: int) -> bool:
        """Whether ``pid`` is still the broker on our port (not a reused process id)."""
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"tansu" in command and f":{self.ports.kafka}".encode() in command


async def _ok(pending: Any) -> bool:
    response = await pending
    return bool(response.status_code == 200)


async def _running(worker: Process) -> bool:
    if not worker.alive():
        raise RuntimeError(f"hookline worker {worker.name} exited:\n{worker.log_text()[-2000:]}")
    return "hookline worker running" in worker.log_text().rsplit("--- start", 1)[-1]


# -- the webhook stream --------------------------------------------------------------------


@dataclass
class Tally:
    """What the provider side saw: per request and per webhook."""

    statuses: Counter[str] = field(default_factory=Counter)
    acked: dict[str, str] = field(default_factory=dict)  # order id → event id from the 2xx body
    gave_up: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, since the last progress line
    in_flight: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


class Sender:
    """Signs Colt order callbacks as Colt does and posts them, retrying like a provider."""

    def __init__(self, config_path: Path, ingress_url: str, run: str, args: argparse.Namespace):
        # The signing code is the one the simulators use: hookline's own schemes.
        from hookline.config.loader import load_settings
        from hookline.signatures import Headers, SignedRequest, build_scheme

        settings = load_settings(config_path)
        self._scheme = build_scheme(settings.sources[SOURCE].verify)
        self._headers, self._request = Headers, SignedRequest
        self.url = f"{ingress_url}/webhooks/{SOURCE}"
        self.run = run
        self.args = args
        self.tally = Tally()

    def body(self, order: str, n: int) -> bytes:
        reported = self.args.reports > 0 and n % round(1 / self.args.reports) == 0
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
                    "serviceId": "SVC-FAULTS",
                    "estimatedCompletionDate": None,
                    "reason": None,
                    "technicalContacts": [
                        {
                            "name": "Ada",
                            "email": "ada@example.com",
                            "phone": REPORTED if reported else SILENT,
                            "role": "primary",
                        }
                    ],
                },
            }
        ).encode()

    async def deliver(
        self, http: aiohttp.ClientSession, order: str, n: int, give_up_at: float
    ) -> None:
        """One webhook until a 2xx, a 4xx, or the provider's patience runs out."""
        body = self.body(order, n)
        for attempt in range(self.args.attempts):
            unsigned = self._request(
                body=body, headers=self._headers({"content-type": "application/json"}), url=self.url
            )
            signed = self._scheme.sign(unsigned, time.time())
            wait = 1.0
            sent_at = time.monotonic()
            self.tally.in_flight += 1
            try:
                async with http.post(self.url, data=body, headers=dict(signed.headers)) as response:
                    code = response.status
                    answer = await response.read()
                    retry_after = response.headers.get("retry-after", "1")
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.tally.statuses[f"error {type(exc).__name__}"] += 1
                code = 0
            else:
                self.tally.latencies.append(time.monotonic() - sent_at)
                self.tally.statuses[str(code)] += 1
            finally:
                self.tally.in_flight -= 1
            if 200 <= code < 300:
                self.tally.acked[order] = json.loads(answer)["id"]
                return
            if 400 <= code < 500:
                return  # a 4xx is final: the provider would not retry it either
            if code:
                wait = min(float(retry_after), 5.0)
            # Providers back off a little more on every attempt.
            wait *= 1 + attempt / 2
            if time.monotonic() + wait > give_up_at or attempt == self.args.attempts - 1:
                break
            await asyncio.sleep(wait)
        self.tally.gave_up.append(order)

    async def stream(self, http: aiohttp.ClientSession, count: int, rate: float) -> None:
        """``count`` webhooks at ``rate`` per second, each retried on its own."""
        start = time.monotonic()
        give_up_at = start + count / rate + self.args.patience
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            order = f"ORD-{self.run}-{n:06d}"
            self.tally.orders.append(order)
            tasks.append(asyncio.create_task(self.deliver(http, order, n, give_up_at)))
        await asyncio.gather(*tasks)


# -- faults --------------------------------------------------------------------------------


class Faults:
    def __init__(self, loop: Loop, started: float) -> None:
        self.loop = loop
        self.started = started
        self.log: list[tuple[float, str]] = []

    def note(self, what: str, *, fault: bool = True) -> None:
        """Print a timed line; a fault's line also goes into the summary."""
        elapsed = time.monotonic() - self.started
        if fault:
            self.log.append((elapsed, what))
        print(f"  +{elapsed:5.1f}s  {what}", flush=True)

    async def at(self, offset: float) -> None:
        await asyncio.sleep(max(0.0, self.started + offset - time.monotonic()))

    async def run(self, duration: float, args: argparse.Namespace) -> None:
        loop = self.loop
        await self.at(duration * 0.15)
        pid = loop.broker_pid()
        os.kill(pid, signal.SIGSTOP)
        self.note(f"broker paused (SIGSTOP {pid}) for {args.pause:g}s")
        await asyncio.sleep(args.pause)
        os.kill(pid, signal.SIGCONT)
        self.note("broker resumed (SIGCONT)")

        await self.at(duration * 0.40)
        loop.redis.kill()
        self.note(f"redis-server killed (SIGKILL), down for {args.redis_down:g}s")
        await asyncio.sleep(args.redis_down)
        loop.redis.start()
        await until(lambda: port_open(loop.ports.redis), "redis-server restart", 20)
        self.note("redis-server restarted" + (" empty" if args.redis_wipe else " from its AOF"))

        for name, share in (("sms", 0.60), ("reactor", 0.75)):
            await self.at(duration * share)
            worker = getattr(loop, name)
            worker.kill()
            worker.start()
            self.note(f"worker {name} SIGKILLed and restarted")


# -- reading back --------------------------------------------------------------------------


def topic(name: str) -> str:
    return f"hookline.{name}"  # the shipped configuration's kafka.topic_prefix


@dataclass
class Message:
    """A CloudEvent read back from Kafka, with the header the bench looks at."""

    event: dict[str, Any]
    error_class: str = ""


class Follower:
    """Every record on the bench's topics from the beginning, as it arrives."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.seen: dict[str, list[Message]] = {name: [] for name in topics}
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 << 20,
        )
        self._task: asyncio.Task[None] | None = None
        self.last = time.monotonic()

    async def __aenter__(self) -> Follower:
        await self._consumer.start()
        self._task = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=5000)
            for part, records in batch.items():
                for record in records:
                    headers = dict(record.headers or ())
                    error = headers.get("hookline-error-class", b"").decode()
                    self.seen[part.topic].append(Message(json.loads(record.value), error))
                    self.last = time.monotonic()

    async def caught_up(self, quiet: float = 3.0, timeout: float = 60) -> None:
        """Wait until nothing new arrived for ``quiet`` seconds.

        The embedded broker's end offsets are unreliable after batched writes
        (docs/faults.md), so "the end" is a quiet stretch, not ``end_offsets``.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if now - self.last >= quiet or now >= deadline:
                return
            await asyncio.sleep(0.5)


async def sms_sent(http: httpx.AsyncClient, ports: Ports) -> Counter[str]:
    """Messages that really went out at the SMS simulators, by hookline message id."""
    sent: Counter[str] = Counter()
    for name in SMS_SIMULATORS:
        # The state holds every message: a loaded simulator takes a while to answer it.
        response = await http.get(f"{ports.sim_url(name)}/_sim/state", timeout=60)
        response.raise_for_status()
        sent.update(response.json()["sms"]["by_ref"])
    return sent


@dataclass
class Outcome:
    """Where each order of the stream ended, from Kafka and the simulators."""

    run: str
    follower: Follower
    sent: Counter[str] = field(default_factory=Counter)

    @property
    def prefix(self) -> str:
        return f"ORD-{self.run}-"

    def events(self) -> list[dict[str, Any]]:
        return [
            m.event
            for m in self.follower.seen[topic(f"events.{SOURCE}")]
            if str(m.event.get("subject", "")).startswith(self.prefix)
        ]

    def _order(self, command: dict[str, Any]) -> str | None:
        reference = str((command.get("data") or {}).get("reference", ""))
        return (
            reference.removeprefix("colt:") if reference.startswith(f"colt:{self.prefix}") else None
        )

    def commands(self) -> list[tuple[str, str]]:
        """(order, command id) of every sms.send record for the stream, repeats included."""
        found = []
        for message in self.follower.seen[topic("commands.sms")]:
            order = self._order(message.event)
            if order is not None:
                found.append((order, message.event["id"]))
        return found

    def dead_letters(self) -> dict[str, str]:
        """Order → error class, for the stream's commands in hookline.dlq.sms."""
        return {
            order: m.error_class
            for m in self.follower.seen[topic("dlq.sms")]
            if (order := self._order(m.event)) is not None
        }

    def effects(self) -> dict[str, int]:
        """Per order whose event is in Kafka: how many SMS reached a simulator."""
        by_order: dict[str, set[str]] = {}
        for order, command_id in self.commands():
            by_order.setdefault(order, set()).add(command_id)
        orders = {e["subject"] for e in self.events()}
        return {o: sum(self.sent[c] for c in by_order.get(o, ())) for o in orders}

    def unaccounted(self) -> list[str]:
        """Orders in Kafka with neither an SMS nor a dead letter saying why."""
        parked = self.dead_letters()
        return sorted(o for o, n in self.effects().items() if n == 0 and o not in parked)


async def drain(
    http: httpx.AsyncClient, ports: Ports, outcome: Outcome, settle: float, timeout: float
) -> bool:
    """Until every order in Kafka has its SMS or a dead letter, then ``settle`` s for repeats."""
    await outcome.follower.caught_up()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # a busy simulator: ask again
            outcome.sent = await sms_sent(http, ports)
            if not outcome.unaccounted():
                break
        await asyncio.sleep(2)
    else:
        return False
    await asyncio.sleep(settle)  # a late repeat would show up now
    await outcome.follower.caught_up()
    outcome.sent = await sms_sent(http, ports)
    return True


@dataclass
class Result:
    rows: list[tuple[str, int, str]]
    failed: list[str]


def tabulate(tally: Tally, outcome: Outcome, drained: bool = True) -> Result:
    events = outcome.events()
    ids = Counter(e["id"] for e in events)
    lost = sorted(o for o, event_id in tally.acked.items() if event_id not in ids)
    commands = outcome.commands()
    effects = outcome.effects()
    parked = outcome.dead_letters()
    duplicate_effects = sum(n - 1 for n in effects.values() if n > 1)
    unaccounted = outcome.unaccounted()
    acked = sum(n for s, n in tally.statuses.items() if s.startswith("2"))
    others = {s: n for s, n in tally.statuses.items() if not s.startswith("2") and s != "503"}
    reasons = Counter(parked.values())
    rows = [
        ("webhooks", len(tally.orders), "distinct deliveries (order ids) the bench made"),
        ("sent", tally.requests, "requests, retries of a 503 or a broken connection included"),
        ("2xx", acked, f"{len(tally.acked)} webhooks acknowledged"),
        ("503", tally.statuses["503"], "with Retry-After; the bench retried them"),
        (
            "other",
            sum(others.values()),
            ", ".join(f"{s}: {n}" for s, n in sorted(others.items())) or "-",
        ),
        ("never acknowledged", len(tally.gave_up), "the bench stopped retrying"),
        ("events in Kafka", len(events), f"{len(ids)} distinct ids on {topic('events.' + SOURCE)}"),
        ("lost", len(lost), "a 2xx whose event id is not in Kafka; must be 0"),
        ("duplicate events", len(events) - len(ids), "an id twice (allowed: same id, drop it)"),
        ("sms.send commands", len(commands), f"{len(set(c for _, c in commands))} distinct ids"),
        ("effects at simulators", sum(effects.values()), "SMS that reached a simulator"),
        ("duplicate effects", duplicate_effects, "an SMS sent twice for one order; must be 0"),
        (
            "dead-lettered",
            len(parked),
            ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items())) or "-",
        ),
        (
            "unaccounted",
            len(unaccounted),
            "no SMS and no dead letter; must be 0"
            + ("" if drained else " (the drain timed out: some may still be on their way)"),
        ),
    ]
    failed = []
    if lost:
        failed.append(f"lost {len(lost)}: {', '.join(lost[:5])}")
    if duplicate_effects:
        twice = sorted(o for o, n in effects.items() if n > 1)
        failed.append(f"duplicate effects {duplicate_effects}: {', '.join(twice[:5])}")
    if unaccounted:
        failed.append(f"unaccounted {len(unaccounted)}: {', '.join(unaccounted[:5])}")
    return Result(rows, failed)


def render(result: Result) -> str:
    width = max(len(name) for name, _, _ in result.rows)
    digits = max(len("count"), *(len(str(n)) for _, n, _ in result.rows))
    lines = [
        f"| {'':<{width}} | {'count':>{digits}} | |",
        f"|{'-' * (width + 2)}|{'-' * (digits + 1)}:|---|",
    ]
    lines += [f"| {name:<{width}} | {n:>{digits}} | {note} |" for name, n, note in result.rows]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, work: Path) -> int:
    loop = Loop(work, args)
    run = uuid.uuid4().hex[:6].upper()
    try:
        print(f"starting the loop (logs in {loop.logs})", flush=True)
        await loop.start()
        sender = Sender(loop.config_path, loop.ports.ingress_url, run, args)
        bootstrap = f"127.0.0.1:{loop.ports.kafka}"
        topics = [topic(f"events.{SOURCE}"), topic("commands.sms"), topic("dlq.sms")]
        # The stream goes through aiohttp: httpx costs ~10x more CPU per request,
        # which on a small machine throttles the stream itself (docs/faults.md).
        timeout = aiohttp.ClientTimeout(total=args.timeout)
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so "other"
        # does not count the race of reusing a connection the server is closing.
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as post,
            httpx.AsyncClient(timeout=30) as http,
            Follower(bootstrap, topics) as follower,
        ):
            await warm_up(sender, post, http, loop)
            count = int(args.rate * args.duration)
            print(
                f"streaming {count} webhooks at {args.rate:g}/s for {args.duration:g}s", flush=True
            )
            started = time.monotonic()
            faults = Faults(loop, started)
            progress = asyncio.create_task(report(sender.tally, faults))
            try:
                await asyncio.gather(
                    sender.stream(post, count, args.rate), faults.run(args.duration, args)
                )
            finally:
                progress.cancel()
            streamed = time.monotonic() - started
            faults.note("every webhook answered or given up; waiting for the loop", fault=False)
            outcome = Outcome(run, follower)
            drained = await drain(http, loop.ports, outcome, args.settle, args.drain)
        result = tabulate(sender.tally, outcome, drained)
        print(
            f"\nfaults bench: {count} webhooks in {streamed:.0f}s with retries "
            f"(target {args.rate:g}/s), {time.monotonic() - started:.0f}s until drained"
        )
        print("faults: " + "; ".join(f"{t:.0f}s {what}" for t, what in faults.log) + "\n")
        print(render(result))
        for line in result.failed:
            print(f"FAILED: {line}", file=sys.stderr)
        cpu = {p.name: p.cpu() for p in loop.processes if p is not loop.broker}
        cpu["broker"] = cpu_seconds(loop.broker_pid())
        cpu["bench"] = sum(os.times()[:2])
        print("\nCPU seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
        for process in loop.processes:
            if not process.alive():
                print(f"FAILED: {process.name} is not running (see its log)", file=sys.stderr)
                result.failed.append(process.name)
        return 1 if result.failed else 0
    finally:
        loop.stop()


async def report(tally: Tally, faults: Faults, every: float = 5.0) -> None:
    """A progress line every few seconds: where the requests stand."""
    while True:
        await asyncio.sleep(every)
        acked = sum(n for s, n in tally.statuses.items() if s.startswith("2"))
        latencies, tally.latencies = sorted(tally.latencies), []
        p50, p99 = (
            (latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)])
            if latencies
            else (0.0, 0.0)
        )
        faults.note(
            f"progress: {len(tally.orders)} webhooks, {tally.requests} requests, "
            f"{acked} 2xx, {tally.statuses['503']} 503, "
            f"{tally.requests - acked - tally.statuses['503']} other; {tally.in_flight} in flight, "
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms",
            fault=False,
        )


async def warm_up(
    sender: Sender, post: aiohttp.ClientSession, http: httpx.AsyncClient, loop: Loop
) -> None:
    """One webhook through the whole loop first: every consumer has joined its group."""
    order = f"ORD-WARM-{uuid.uuid4().hex[:6].upper()}"
    await sender.deliver(post, order, 0, time.monotonic() + 30)
    if order not in sender.tally.acked:
        raise RuntimeError(f"the warm-up webhook was not acknowledged: {sender.tally.statuses}")
    await until(lambda: _any_sms(http, loop.ports), "the warm-up SMS", 90, every=0.5)
    sender.tally = Tally()


async def _any_sms(http: httpx.AsyncClient, ports: Ports) -> bool:
    return sum((await sms_sent(http, ports)).values()) > 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="webhooks per second (default 50)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of stream (default 60)")
    parser.add_argument("--pause", type=float, default=6, help="broker paused this long (s)")
    parser.add_argument("--redis-down", type=float, default=4, help="Redis down this long (s)")
    parser.add_argument(
        "--redis-wipe",
        action="store_true",
        help="restart Redis empty (no AOF): its keys are lost with it",
    )
    parser.add_argument("--attempts", type=int, default=12, help="deliveries per webhook at most")
    parser.add_argument(
        "--patience",
        type=float,
        default=40,
        help="seconds past the stream's end a provider keeps retrying",
    )
    parser.add_argument("--timeout", type=float, default=15, help="client timeout per request (s)")
    parser.add_argument(
        "--lease",
        type=float,
        default=15,
        help="worker.idempotency_lease_seconds (a killed worker's claims lapse after it)",
    )
    parser.add_argument(
        "--retry-tiers", nargs="+", default=["5s", "20s", "1m"], help="worker.retry_tiers"
    )
    parser.add_argument(
        "--reports",
        type=float,
        default=0.2,
        help="share of SMS that report delivery back through the ingress",
    )
    parser.add_argument(
        "--settle", type=float, default=5, help="seconds to wait after the drain for late repeats"
    )
    parser.add_argument("--drain", type=float, default=120, help="drain at most this long (s)")
    parser.add_argument("--log-level", default="warning", help="hookline log level")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hookline-faults-"))
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
    sys.exit(main())
