"""Limits at the HTTP edge, against a real ``hookline serve`` process over raw sockets.

Oversized headers are refused (431) with memory bounded, slow clients are closed
after the header or body timeout while other clients stay fast, one connection
over the cap is answered 503, framing errors and trailing slashes get problems.
Times are asserted with wide margins: the deadlines cannot fire early, and
"late" means tens of seconds, not a tight window.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hookline.bus.broker import EmbeddedBroker, free_port
from tests.support.processes import Hookline, rss_kib

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0
MAX_HEADER_BYTES = 8192
# Far beyond any deadline above: only a server that never closes misses it.
GIVE_UP = 30.0


def write_config(tmp_path: Path, port: int, bootstrap: str, **server: object) -> Path:
    settings = {
        "server": {"host": "127.0.0.1", "port": port, **server},
        "kafka": {"bootstrap_servers": bootstrap, "topic_prefix": f"t{uuid.uuid4().hex[:10]}"},
        "sources": {
            "billing": {
                "provider": "standard",
                "verify": {
                    "scheme": "standard-webhooks",
                    "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                },
            }
        },
        "observability": {"log_level": "warning"},
    }
    path = tmp_path / f"edge-{port}.yaml"
    path.write_text(json.dumps(settings))  # JSON is YAML
    return path


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, broker: EmbeddedBroker) -> Iterator[Hookline]:
    """``hookline serve`` with short edge limits, shared by this module's tests."""
    tmp_path = tmp_path_factory.mktemp("edge")
    port = free_port()
    config = write_config(
        tmp_path,
        port,
        broker.bootstrap_servers,
        header_timeout_seconds=HEADER_TIMEOUT,
        body_timeout_seconds=BODY_TIMEOUT,
        max_header_bytes=MAX_HEADER_BYTES,
        max_connections=400,
    )
    server = Hookline(tmp_path, "serve", config=config)
    server.port = port  # type: ignore[attr-defined]
    try:
        server.wait_for_port(port)
        yield server
    finally:
        server.close()


def port_of(server: Hookline) -> int:
    return int(server.port)  # type: ignore[attr-defined]


def exchange(port: int, data: bytes, timeout: float = GIVE_UP) -> bytes:
    """Send ``data`` on a fresh connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def refusals(port: int, status: str, reason: str) -> float:
    """hookline_ingress_edge_refusals_total{status, reason} as the server's /metrics says."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=GIVE_UP).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hookline_ingress_edge_refusals_total" and sample.labels == {
                "status": status,
                "reason": reason,
            }:
                return sample.value
    return 0.0


def test_oversized_headers_answer_431_problem(edge: Hookline) -> None:
    """Headers over server.max_header_bytes get a 431 problem, counted; just under the limit pass."""
    port = port_of(edge)
    before = refusals(port, "431", "headers_too_large")
    small = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
        + b"a" * (MAX_HEADER_BYTES - 200)
        + b"\r\nConnection: close\r\n\r\n"
    )
    assert parse(exchange(port, small))[0] == 200
    large = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
        + b"a" * (MAX_HEADER_BYTES + 100)
        + b"\r\n\r\n"
    )
    status, headers, body = parse(exchange(port, large))
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 431
    assert refusals(port, "431", "headers_too_large") == before + 1


def test_endless_headers_are_cut_and_memory_stays_bounded(edge: Hookline) -> None:
    """Two clients streaming a 64 MB header are cut off early; the server's RSS barely moves."""
    port = port_of(edge)
    before = rss_kib(edge.pid)
    sent = [0, 0]

    def stream(index: int) -> None:
        chunk = b"a" * 65536
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP) as sock:
                sock.sendall(b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nX-Big: ")
                while sent[index] < 64 * 1024 * 1024:
                    sock.sendall(chunk)
                    sent[index] += len(chunk)
        except OSError:
            pass  # the server closed the connection: what we want

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GIVE_UP * 2)
    grown_mib = (rss_kib(edge.pid) - before) / 1024
    # Socket buffers absorb a few MB before the writer notices; 64 MB means nobody cut it.
    assert max(sent) < 32 * 1024 * 1024, sent
    assert grown_mib < 32, f"RSS grew {grown_mib:.0f} MiB"


def closed_after(port: int, head: bytes, trickle: bytes) -> tuple[float, bytes]:
    """Send ``head``, then one byte of ``trickle`` a second; seconds until the server closed, and what it said."""
    with socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP) as sock:
        started = time.monotonic()
        sock.sendall(head)
        sock.settimeout(1.0)
        received = b""
        for i in range(int(GIVE_UP)):
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                try:
                    sock.sendall(trickle[i % len(trickle) : i % len(trickle) + 1])
                except OSError:
                    return time.monotonic() - started, received
                continue
            except OSError:
                return time.monotonic() - started, received
            if not chunk:
                return time.monotonic() - started, received
            received += chunk
    raise AssertionError(f"the slow client was still connected after {GIVE_UP}s")


def test_slow_headers_are_closed_with_408(edge: Hookline) -> None:
    """A client sending its headers a byte a second gets 408 (counted) and is closed after the header timeout."""
    before = refusals(port_of(edge), "408", "header_timeout")
    elapsed, said = closed_after(
        port_of(edge), b"POST /webhooks/billing HTTP/1.1\r\n", b"X-Slow: yes"
    )
    assert elapsed >= HEADER_TIMEOUT * 0.9
    assert parse(said)[0] == 408
    # Other tests of this module may time out headers at the same moment: at least ours.
    assert refusals(port_of(edge), "408", "header_timeout") >= before + 1


def test_silent_connection_is_closed(edge: Hookline) -> None:
    """A connection that never sends a byte is closed after the header timeout."""
    with socket.create_connection(("127.0.0.1", port_of(edge)), timeout=GIVE_UP) as sock:
        started = time.monotonic()
        said = b""
        while chunk := sock.recv(65536):
            said += chunk
        assert time.monotonic() - started >= HEADER_TIMEOUT * 0.9
    assert parse(said)[0] == 408


def test_slow_body_is_closed(edge: Hookline) -> None:
    """A client sending its body a byte a second is closed after the body timeout."""
    head = b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    elapsed, _ = closed_after(port_of(edge), head, b"{")
    assert elapsed >= BODY_TIMEOUT * 0.9


async def test_slow_clients_are_closed_while_others_stay_fast(edge: Hookline) -> None:
    """300 clients trickling headers are all closed; meanwhile /healthz answers promptly."""
    port = port_of(edge)
    before = rss_kib(edge.pid)

    async def slow() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        try:
            writer.write(b"POST /webhooks/billing HTTP/1.1\r\n")
            while True:
                try:
                    if not await asyncio.wait_for(reader.read(65536), timeout=1.0):
                        return time.monotonic() - started
                except TimeoutError:
                    writer.write(b"X")
                    await writer.drain()
        except OSError:
            return time.monotonic() - started
        finally:
            writer.close()

    latencies: list[float] = []

    async def sample(stop: asyncio.Event) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not stop.is_set():
                started = time.monotonic()
                writer.write(request)
                await reader.readuntil(b'{"status":"ok"}')
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.05)
        finally:
            writer.close()

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(stop))
    slow_tasks = [asyncio.create_task(slow()) for _ in range(300)]
    closed = await asyncio.wait_for(asyncio.gather(*slow_tasks), timeout=GIVE_UP * 2)
    stop.set()
    await sampler
    assert len(closed) == 300 and max(closed) < GIVE_UP
    assert latencies, "no /healthz answer while slow clients were connected"
    # Wide: an unloaded run answers in milliseconds; a starved server would take the
    # header timeout or never answer.
    assert statistics.median(latencies) < 2.0 and max(latencies) < 10.0, latencies
    assert (rss_kib(edge.pid) - before) / 1024 < 64


@pytest.mark.parametrize(
    ("request_bytes", "reason"),
    [
        (
            b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "Content-Length with Transfer-Encoding",
        ),
        (
            b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "bad Content-Length",
        ),
        (
            b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}",
            "two Content-Lengths",
        ),
    ],
)
def test_framing_errors_answer_400_problem(
    edge: Hookline, request_bytes: bytes, reason: str
) -> None:
    """Requests whose body cannot be framed get a 400 problem+json (counted) and the connection closes."""
    before = refusals(port_of(edge), "400", "bad_http")
    status, headers, body = parse(exchange(port_of(edge), request_bytes))
    assert status == 400, reason
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert json.loads(body)["status"] == 400
    assert refusals(port_of(edge), "400", "bad_http") == before + 1


@pytest.mark.parametrize("path", ["/webhooks/billing/", "/healthz/"])
def test_trailing_slash_is_404_never_a_redirect(edge: Hookline, path: str) -> None:
    """A trailing slash gets 404 problem+json, not a 307 to wherever the Host header points."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    ).encode()
    status, headers, _ = parse(exchange(port_of(edge), request))
    assert status == 404
    assert "location" not in headers
    assert headers["content-type"] == "application/problem+json"


def test_connection_over_the_cap_gets_503(tmp_path: Path, broker: EmbeddedBroker) -> None:
    """With server.max_connections open, one more connection is answered 503 + Retry-After and closed."""
    port = free_port()
    config = write_config(
        tmp_path, port, broker.bootstrap_servers, max_connections=20, header_timeout_seconds=120
    )
    server = Hookline(tmp_path, "serve", config=config)
    held: list[socket.socket] = []
    try:
        server.wait_for_port(port)
        # wait_for_port's probe connection may still count for a moment: settle first.
        time.sleep(0.5)
        held = [socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP) for _ in range(20)]
        time.sleep(0.5)  # the server has accepted them all
        status, headers, _ = parse(exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert status == 503
        assert headers["retry-after"]
        assert headers["content-type"] == "application/problem+json"
        for sock in held:
            sock.close()
        held = []
        time.sleep(0.5)  # the server has seen them close: the scrape below gets a connection
        assert refusals(port, "503", "max_connections") >= 1
        deadline = time.monotonic() + GIVE_UP
        while time.monotonic() < deadline:
            status = parse(
                exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            )[0]
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200  # the cap counts open connections, not a quota
    finally:
        for sock in held:
            sock.close()
        server.close()


def test_kept_alive_and_pipelined_requests_are_served(edge: Hookline) -> None:
    """Several requests on one connection, pipelined in one write and one after another, all get 200."""
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port_of(edge)), timeout=GIVE_UP) as sock:
        sock.sendall(one * 3)
        received = b""
        while received.count(b'{"status":"ok"}') < 3:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {received!r}"
            received += chunk
        time.sleep(HEADER_TIMEOUT / 2)  # idle, under the keep-alive timeout
        sock.sendall(one[:10])
        time.sleep(HEADER_TIMEOUT / 2)
        sock.sendall(one[10:])
        assert parse(sock.recv(65536))[0] == 200


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    edge: Hookline,
) -> None:
    """After its answer a connection left idle is closed (uvicorn's keep-alive timeout, 5 s,
    kept on the connection's one timer): not at once, and not never."""
    with socket.create_connection(("127.0.0.1", port_of(edge)), timeout=GIVE_UP) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b'{"status":"ok"}' not in received:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {received!r}"
            received += chunk
        answered = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server (a timeout would raise)
        assert time.monotonic() - answered >= 2.0


def test_pipelined_webhook_answers_are_whole_and_connection_close_is_kept(
    edge: Hookline,
) -> None:
    """Two webhook requests in one write, the second asking to close: two complete answers
    in order (status line, headers with the request id, the body its length names), then
    the server closes. The edge writes each such answer in one piece."""
    body = b'{"type": "invoice.paid"}'
    request = (
        b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Request-ID: %s\r\nContent-Length: %d\r\n%s\r\n%s"
    )
    first = request % (b"first-1", len(body), b"", body)
    second = request % (b"second-2", len(body), b"Connection: close\r\n", body)
    received = b""
    with socket.create_connection(("127.0.0.1", port_of(edge)), timeout=GIVE_UP) as sock:
        sock.sendall(first + second)
        while chunk := sock.recv(65536):
            received += chunk
    answers = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        status, headers, _ = parse(head + b"\r\n\r\n")
        length = int(headers["content-length"])
        answers.append((status, headers, rest[:length]))
        received = rest[length:]
    assert [(s, h["x-request-id"]) for s, h, _ in answers] == [(401, "first-1"), (401, "second-2")]
    assert all(json.loads(b)["status"] == 401 for _, _, b in answers)
    assert answers[1][1].get("connection") == "close"
