"""The naive ingress peer: Starlette + HMAC + aiokafka ``send_and_wait`` per request (acks=all).

BENCH_BOOTSTRAP=127.0.0.1:9092 uvicorn bench.peers.naive_aiokafka:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer
from bench.peers._verify import BOOTSTRAP, HEADER, TOPIC, verified
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

producer: AIOKafkaProducer | None = None


async def receive(request: Request) -> Response:
    body = await request.body()
    if not verified(request.headers.get(HEADER), body):
        return JSONResponse({"detail": "bad signature"}, status_code=401)
    assert producer is not None
    await producer.send_and_wait(TOPIC, body, key=request.path_params["source"].encode())
    return JSONResponse({"accepted": True}, status_code=202)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global producer
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        yield
    finally:
        await producer.stop()


app = Starlette(routes=[Route("/webhooks/{source}", receive, methods=["POST"])], lifespan=lifespan)
