"""How fast the console's events page answers with 10 000 events on the topic.

    python bench/console_events.py [--events 10000] [--runs 5]

Starts the embedded broker, writes ``--events`` CloudEvents (1 KiB of data
each) to one events topic and a tenth as many commands, serves the ingress
(the console with it) under uvicorn, logs in, and times ``GET /console/events``
(the newest page) and a search by one event's id. Prints the median and the
slowest of ``--runs`` requests for each (docs/console.md#how-fast).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from hookline.bus.admin import create_topics  # noqa: E402
from hookline.bus.broker import EmbeddedBroker, free_port  # noqa: E402
from hookline.bus.codec import to_record  # noqa: E402
from hookline.bus.topics import all_topics  # noqa: E402
from hookline.config.models import HooklineSettings  # noqa: E402
from hookline.envelope import make_event  # noqa: E402
from hookline.ingress.app import create_app  # noqa: E402

TOKEN = "bench-admin-token-0123456789"


async def fill(settings: HooklineSettings, servers: str, events: int) -> str:
    await create_topics(settings.kafka, servers, all_topics(settings, extra_domains=["billing"]))
    producer = AIOKafkaProducer(
        bootstrap_servers=servers, acks="all", max_batch_size=1 << 20, linger_ms=5
    )
    await producer.start()
    padding = "x" * 1024
    some_id = ""
    try:
        sends = []
        for i in range(events):
            event = make_event(
                source="/hookline/sources/billing", type="billing.invoice.paid", subject=f"inv_{i}",
                provider="standard", provider_event_id=f"evt_{uuid.uuid4().hex}",
                data={"id": f"inv_{i}", "amount": i, "note": padding},
            )  # fmt: skip
            some_id = event.id if i == events // 2 else some_id
            record = to_record(event, "bench.events.billing")
            sends.append(
                await producer.send(
                    record.topic, record.value, key=record.key, headers=record.headers
                )
            )
            if i % 10 == 0:
                command = make_event(source="/bench", type="sms.send", subject=f"c{i}",
                                     data={"to": "+886912345678", "body": "hi"}, causation_id=event.id)  # fmt: skip
                record = to_record(command, "bench.commands.sms")
                sends.append(await producer.send(record.topic, record.value, key=record.key))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return some_id


async def timed(client: httpx.AsyncClient, url: str, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await client.get(url)
        seconds.append(time.perf_counter() - started)
        answer.raise_for_status()
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with EmbeddedBroker(port=free_port()) as broker:
        servers = broker.bootstrap_servers
        settings = HooklineSettings.model_validate({
            "kafka": {"bootstrap_servers": servers, "topic_prefix": "bench", "partitions": 6},
            "admin_token": TOKEN,
            "sources": {"billing": {"provider": "standard", "verify": {
                "scheme": "standard-webhooks", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}}},
            "observability": {"log_level": "warning"},
        })  # fmt: skip
        started = time.perf_counter()
        some_id = await fill(settings, servers, args.events)
        print(
            f"wrote {args.events} events (+{args.events // 10} commands) in {time.perf_counter() - started:.1f}s"
        )
        port = free_port()
        app = create_app(settings, bootstrap_servers=servers, embedded=True)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.05)
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                await client.post("/console/login", data={"token": TOKEN})
                for label, url in (("newest page", "/console/events"),
                                   ("search by id", f"/console/events?q={some_id}"),
                                   ("event and chain", "/admin/events/" + some_id)):  # fmt: skip
                    if url.startswith("/admin"):
                        client.headers["authorization"] = f"Bearer {TOKEN}"
                    seconds = await timed(client, url, args.runs)
                    print(f"{label:<16} median {statistics.median(seconds) * 1000:6.0f} ms   "
                          f"slowest {max(seconds) * 1000:6.0f} ms   ({args.runs} runs)")  # fmt: skip
        finally:
            server.should_exit = True
            await serving


if __name__ == "__main__":
    asyncio.run(main())
