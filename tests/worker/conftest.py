"""Worker test fixtures: the stand-in provider served by a real uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.support.servers import serve
from tests.worker.provider import Effects, provider_app


@dataclass
class Provider:
    url: str
    effects: Effects


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    """The counting provider on a free port, fresh per test."""
    effects = Effects()
    async with serve(provider_app(effects)) as url:
        yield Provider(url, effects)
