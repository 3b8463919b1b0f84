"""One webhook, one trace: `hookline run` with the OTEL_* variables exports the whole loop.

A signed Colt "order completed" webhook goes in; the reactor turns it into an
``sms.send``; the sms worker calls a gateway simulator (which sees the
traceparent); the simulator's signed delivery report comes back into the
ingress, and the sms worker handles it. A real OTLP/HTTP receiver on loopback
decodes what the processes export, and every hop must be one trace, each span
the child of the hop before it.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.loop.test_run_loop import HOOKLINE
from tests.support.devconfig import write_on_free_ports
from tests.support.otlp import ReceivedSpan, Receiver, otlp_receiver
from tests.support.run import clean_environment, hookline_run

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5
SMS_SOURCES = {"twilio": "sms-twilio", "every8d": "every8d-dlr", "mitake": "mitake-dlr"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture
def traced_run(tmp_path: Path, receiver: Receiver) -> Iterator[Path]:
    config, _ = write_on_free_ports(tmp_path)
    env = clean_environment() | {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    with hookline_run(config, env):
        yield config


def _one(spans: list[ReceivedSpan], what: str, **match: object) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert found, f"no {what} span among {sorted({(s.name, s.kind) for s in spans})}"
    return min(found, key=lambda s: s.start_ns)


def _complete(spans: list[ReceivedSpan]) -> bool:
    names = {s.name for s in spans}
    return "process sms.message.delivered" in names and any(
        n.startswith("POST /webhooks/") and n != "POST /webhooks/colt" for n in names
    )


async def test_one_webhook_is_one_trace_through_every_hop(
    traced_run: Path, receiver: Receiver
) -> None:
    """ingress → reactor → sms worker → gateway call → gateway callback → ingress → worker: one trace."""
    sent = await asyncio.create_subprocess_exec(
        *HOOKLINE,
        "--config",
        str(traced_run),
        "send",
        "colt",
        "order-completed",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(sent.communicate(), 120)
    assert sent.returncode == 0, (out + err).decode()
    spans = await receiver.wait_for(_complete, timeout=120)

    webhook = _one(spans, "ingress", name="POST /webhooks/colt", kind=SERVER)
    trace = [s for s in spans if s.trace_id == webhook.trace_id]
    by_id = {s.span_id: s for s in trace}

    def parent(span: ReceivedSpan) -> ReceivedSpan:
        assert span.parent_span_id in by_id, f"{span.name}'s parent is not in the trace"
        return by_id[span.parent_span_id]

    publish = _one(trace, "publish", name="send hookline.events.colt", kind=PRODUCER)
    assert parent(publish) is webhook
    # Other consumers of the event (the reconcile worker) have spans of their own beside it.
    rule = _one(trace, "reactor decision", name="reactor rule colt-order-completed-sms")
    react = parent(rule)
    assert (react.name, react.kind) == ("process colt.order.state_changed", CONSUMER)
    assert parent(react) is webhook
    command = _one(trace, "command send", name="send hookline.commands.sms", kind=PRODUCER)
    assert parent(command) is rule
    send = _one(trace, "sms worker", name="process sms.send", kind=CONSUMER)
    assert parent(send) is command
    call = _one(trace, "gateway call", kind=CLIENT)
    assert call.attributes["hookline.provider"] in SMS_SOURCES
    assert call.attributes["http.response.status_code"] < 300
    assert parent(call) is send
    callback_source = SMS_SOURCES[str(call.attributes["hookline.provider"])]
    # Each report the gateway sends back (sent, then delivered) continues the call's trace.
    callbacks = [
        s for s in trace if s.name == f"POST /webhooks/{callback_source}" and s.kind == SERVER
    ]
    assert len(callbacks) >= 2, "the simulator's reports did not continue the call's trace"
    assert all(parent(c) is call for c in callbacks)
    delivered = _one(trace, "report", name="process sms.message.delivered", kind=CONSUMER)
    assert parent(delivered) in callbacks
    services = {s.service for s in trace}
    assert services == {"hookline-run"}
