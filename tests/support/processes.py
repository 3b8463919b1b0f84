"""``hookline`` commands as real processes: start, wait for them, signal them, inspect /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HOOKLINE = [sys.executable, "-m", "hookline"]
# The tests' configuration comes from files only: no stray HOOKLINE_* from the caller.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def listener_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (any address), from /proc/net/tcp and tcp6."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                found.add(inode)
    return found


def owns_listener(pids: list[int], port: int) -> bool:
    """Whether one of ``pids`` holds the socket listening on ``port`` (not another process)."""
    wanted = {f"socket:[{inode}]" for inode in listener_inodes(port)}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd) in wanted:
                    return True
    return False


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc), zombies included."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def exists(pid: int) -> bool:
    """Whether ``pid`` is still in the process table (a zombie counts: nobody reaped it)."""
    return Path(f"/proc/{pid}").exists()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Hookline:
    """One ``hookline`` command running as a child process; its output goes to files."""

    def __init__(self, tmp_path: Path, *args: str, config: Path | None = None) -> None:
        flags = ["--config", str(config)] if config else []
        name = args[0] if args else "hookline"
        self.out_path = tmp_path / f"{name}-{id(self)}.out"
        self.err_path = tmp_path / f"{name}-{id(self)}.err"
        self._out = self.out_path.open("wb")
        self._err = self.err_path.open("wb")
        self.process = subprocess.Popen(
            [*HOOKLINE, *flags, *args], stdout=self._out, stderr=self._err, env=ENV
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"hookline exited ({self.process.returncode}) before {what}:\n{self.output()[-3000:]}"
                )
            time.sleep(0.1)
        raise AssertionError(f"not {what} within {timeout}s:\n{self.output()[-3000:]}")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        self.wait_until(lambda: text in self.output(), timeout, f"printing {text!r}")

    def wait_for_port(self, port: int, timeout: float = 60) -> None:
        """Until this process (or a child of it) listens on ``port``: with the suite spread
        over processes, a free port can be taken by another test's server in between."""
        self.wait_until(
            lambda: listening(port) and owns_listener([self.pid, *children(self.pid)], port),
            timeout,
            f"listening on {port}",
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig``; the exit code (raises if the process outlives ``timeout``)."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"hookline did not exit within {timeout}s of signal {sig}"
            ) from None

    def close(self) -> None:
        """Kill whatever is left (the process and its descendants); for fixtures' finally."""
        leftovers = children(self.pid) if self.process.poll() is None else []
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._out.close()
        self._err.close()
