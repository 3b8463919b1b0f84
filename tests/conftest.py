"""Session fixtures: the real components every integration test talks to over sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from hookline.bus.broker import EmbeddedBroker
from hookline.observability.logging import configure_logging
from tests.support.servers import RedisServer, running_broker


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure_logging("info", "json")


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A test that configures logging (a level, a format) leaves it as it found it: with the
    suite's files spread over processes, the next test in a process may be any other file's."""
    saved = structlog.get_config()
    yield
    if structlog.get_config() != saved:
        structlog.configure(**saved)


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """State files (the open-entity SQLite store without redis_url) of this session's processes
    go under its temporary directory, not the user's ~/.local/state."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """The embedded tansu broker, a real process on a free port, shared by the session."""
    with running_broker() as broker:
        yield broker


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port for the whole session."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()
