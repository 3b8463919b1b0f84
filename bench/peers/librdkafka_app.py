"""The minimal librdkafka ingress peer: Starlette + HMAC + confluent-kafka ``produce``, a
delivery callback resolving the request's future (acks=all; librdkafka batches by itself).

    BENCH_BOOTSTRAP=127.0.0.1:9092 uvicorn bench.peers.librdkafka_app:app

librdkafka serves delivery reports from ``poll``: one thread polls and hands each
report to the event loop (confluent-kafka's own asyncio example does the same).
``enable.idempotence`` is off: the embedded broker does not grant producer ids to it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bench.peers._verify import BOOTSTRAP, HEADER, TOPIC, verified
from confluent_kafka import KafkaException, Producer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

state: dict[str, Any] = {}


def _resolve(future: asyncio.Future[None], error: Any) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(KafkaException(error))


async def receive(request: Request) -> Response:
    body = await request.body()
    if not verified(request.headers.get(HEADER), body):
        return JSONResponse({"detail": "bad signature"}, status_code=401)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def delivered(error: Any, _message: Any) -> None:
        loop.call_soon_threadsafe(_resolve, future, error)

    state["producer"].produce(
        TOPIC, body, key=request.path_params["source"].encode(), on_delivery=delivered
    )
    await future
    return JSONResponse({"accepted": True}, status_code=202)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    producer = Producer(
        {"bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": False}
    )
    stopping = threading.Event()

    def poll() -> None:
        while not stopping.is_set():
            producer.poll(0.1)

    poller = threading.Thread(target=poll, name="librdkafka-poll", daemon=True)
    poller.start()
    state["producer"] = producer
    try:
        yield
    finally:
        stopping.set()
        poller.join()
        producer.flush(5)


app = Starlette(routes=[Route("/webhooks/{source}", receive, methods=["POST"])], lifespan=lifespan)
