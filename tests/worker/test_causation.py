"""What a handler writes joins the chain of what it handles (correlationid, causationid, requestid)."""

from __future__ import annotations

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent, make_event
from hookline.worker.handlers import HandlerContext


async def _emitted(handled: CloudEvent, written: CloudEvent) -> CloudEvent:
    out: list[CloudEvent] = []

    async def emit(event: CloudEvent, topic: str) -> None:
        out.append(event)

    ctx = HandlerContext(handled, 1, HooklineSettings(), Topics("hookline"), emit)
    await ctx.emit(written, "hookline.events.x")
    return out[0]


async def test_result_is_caused_by_its_command_and_keeps_the_delivery() -> None:
    """A result names its command as cause and keeps the command's correlation."""
    command = make_event(
        source="/r", type="sms.send", data={}, correlation_id="delivery-1", causation_id="evt-1"
    )
    result = await _emitted(command, make_event(source="/w", type="sms.message.accepted", data={}))
    assert (result.causationid, result.correlationid) == (command.id, "delivery-1")


async def test_a_root_event_starts_the_correlation() -> None:
    """Handling an event without a correlation (a delivery's own) correlates by that event's id."""
    event = make_event(source="/s", type="colt.order.state_changed", data={})
    command = await _emitted(event, make_event(source="/r", type="sms.send", data={}))
    assert (command.causationid, command.correlationid) == (event.id, event.id)


async def test_a_handler_can_set_its_own_chain() -> None:
    """Attributes the handler set itself are kept (a watch's next check answers the watch)."""
    event = make_event(source="/s", type="a", data={}, correlation_id="c")
    mine = make_event(source="/r", type="b", data={}, correlation_id="other", causation_id="x")
    written = await _emitted(event, mine)
    assert (written.causationid, written.correlationid) == ("x", "other")


async def test_what_a_handler_writes_keeps_the_webhook_request_id() -> None:
    """A command derived from a webhook's event, and its result, name the webhook's request."""
    event = make_event(source="/s", type="colt.order.state_changed", data={})
    event.requestid = "req-1"
    command = await _emitted(event, make_event(source="/r", type="sms.send", data={}))
    result = await _emitted(command, make_event(source="/w", type="sms.message.accepted", data={}))
    assert (command.requestid, result.requestid) == ("req-1", "req-1")
    unrelated = await _emitted(
        make_event(source="/downstream", type="sms.send", data={}),
        make_event(source="/w", type="sms.message.accepted", data={}),
    )
    assert unrelated.requestid is None
