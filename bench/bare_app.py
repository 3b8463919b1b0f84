"""The baseline: bare Starlette that reads the body and answers 202, nothing else."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def receive(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"id": "bare", "duplicate": False}, status_code=202)


app = Starlette(routes=[Route("/webhooks/{source}", receive, methods=["POST"])])
