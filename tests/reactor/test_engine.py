"""Rules turn events into commands: conditions, templates, ids, skips and validation."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.config.models import HooklineSettings
from hookline.config.reactor import Rule
from hookline.envelope import make_event
from hookline.reactor.defaults import DEFAULT_RULES
from hookline.reactor.engine import Engine, command_id
from hookline.reactor.rules import active_rules, rule_problems
from hookline.reactor.templates import Template, TemplateError

COMPLETED = {
    "order_id": "ORD-1",
    "status": "completed",
    "service_id": "SVC-9",
    "technical_contact": {"name": "Ada", "phone": "+44 (20) 7946-0958"},
}


def colt_event(data: dict[str, Any], event_id: str = "evt-1") -> Any:
    return make_event(
        id=event_id,
        source="/hookline/sources/colt",
        type="colt.order.state_changed",
        subject=data["order_id"],
        data=data,
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )


def test_default_rule_emits_sms_with_normalized_number_and_template() -> None:
    """Colt order completed → sms.send to the technical contact, number in E.164."""
    event = colt_event(COMPLETED)
    [outcome, delayed] = Engine(DEFAULT_RULES).react(event)
    assert delayed.command is None and delayed.skipped == "condition"
    command = outcome.command
    assert command is not None
    assert command.type == "sms.send"
    assert command.data == {
        "to": "+442079460958",
        "body": "Colt order ORD-1 is complete. Service SVC-9 is live.",
        "reference": "colt:ORD-1",
        "command_id": command.id,
    }
    assert command.source == "/hookline/reactor/colt-order-completed-sms"
    assert command.subject == command.partitionkey == command.id
    assert command.traceparent == event.traceparent  # the command joins the event's trace


def test_command_id_is_derived_from_event_and_rule() -> None:
    """A redelivered event yields the same command id; another event another id."""
    engine = Engine(DEFAULT_RULES)
    first = engine.react(colt_event(COMPLETED))[0].command
    again = engine.react(colt_event(COMPLETED))[0].command
    other = engine.react(colt_event(COMPLETED, "evt-2"))[0].command
    assert first is not None and again is not None and other is not None
    assert first.id == again.id == command_id("colt-order-completed-sms", "evt-1")
    assert other.id != first.id


def test_default_filter_and_round() -> None:
    """default(x) fills a missing value; round(n) formats numbers."""
    delayed = {**COMPLETED, "status": "delayed"}
    outcome = Engine(DEFAULT_RULES).react(colt_event(delayed))[1]
    assert outcome.command is not None
    assert "(no reason given)" in outcome.command.data["body"]
    assert "New estimate: to be confirmed." in outcome.command.data["body"]
    assert (
        Template.compile("{{ data.x | round(2) }} kWh").render({"data": {"x": 12.3456}})
        == "12.35 kWh"
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({**COMPLETED, "technical_contact": None}, "condition"),
        ({**COMPLETED, "status": "in_progress"}, "condition"),
        ({**COMPLETED, "technical_contact": {"phone": "12345"}}, "invalid_phone"),
        ({k: v for k, v in COMPLETED.items() if k != "service_id"}, "missing:data.service_id"),
    ],
)
def test_rule_skips_with_reason(data: dict[str, Any], reason: str) -> None:
    """A condition that does not hold, a missing field or a bad number produce no command."""
    outcome = Engine(DEFAULT_RULES).react(colt_event(data))[0]
    assert outcome.command is None
    assert outcome.skipped == reason


@pytest.mark.parametrize(
    ("when", "value", "expected"),
    [
        ({"eq": 5}, 5, True),
        ({"eq": 5}, 6, False),
        ({"ne": 5}, 6, True),
        ({"ne": 5}, 5, False),
        ({"in": ["a", "b"]}, "b", True),
        ({"in": ["a"]}, "c", False),
        ({"gt": 90}, 95.5, True),
        ({"gt": 90}, 90, False),
        ({"lt": 10}, "9", True),
        ({"lt": 10}, "x", False),
        ({"exists": False}, None, True),
        ({"exists": True}, None, False),
    ],
)
def test_condition_operators(when: dict[str, Any], value: Any, expected: bool) -> None:
    """eq, ne, in, exists, gt and lt decide on dotted paths, never by evaluation."""
    rule = Rule.model_validate(
        {
            "name": "r",
            "on": "colt.order.state_changed",
            "emit": "sms.send",
            "when": {"data.x": when},
            "args": {"to": "+15005550006", "body": "b"},
        }
    )
    outcome = Engine([rule]).react(colt_event({**COMPLETED, "x": value}))[0]
    assert (outcome.command is not None) is expected


@pytest.mark.parametrize(
    "source",
    ["{{ data.x | upper }}", "{{ __import__('os') }}", "{{ data.x | round(a) }}", "{{ data.x"],
)
def test_templates_reject_anything_but_paths_and_two_filters(source: str) -> None:
    """No expression language: unknown filters, code and unclosed braces are errors."""
    with pytest.raises(TemplateError):
        Template.compile(source)


def test_config_check_finds_unknown_types_fields_and_loops() -> None:
    """Rule validation names unknown event types, fields the schema lacks and sms loops."""
    settings = HooklineSettings.model_validate(
        {
            "reactor": {
                "rules": [
                    {
                        "name": "a",
                        "on": "colt.order.nope",
                        "emit": "sms.send",
                        "args": {"to": "x", "body": "y"},
                    },
                    {
                        "name": "b",
                        "on": "colt.order.state_changed",
                        "emit": "sms.send",
                        "when": {"data.technical_contact.fax": {"exists": True}},
                        "args": {
                            "to": "{{ data.technical_contact.phone }}",
                            "body": "{{ data.nonexistent }}",
                            "colour": "red",
                        },
                    },
                    {
                        "name": "c",
                        "on": "sms.message.failed",
                        "emit": "sms.send",
                        "args": {"to": "x", "body": "y"},
                    },
                ]
            }
        }
    )
    found = {str(p) for p in rule_problems(settings)}
    assert "reactor.rules[0].on: unknown event type 'colt.order.nope'" in found
    assert (
        "reactor.rules[1].when.data.technical_contact.fax: colt.order.state_changed has no field 'technical_contact.fax'"
        in found
    )
    assert (
        "reactor.rules[1].args.body: colt.order.state_changed has no field 'nonexistent'" in found
    )
    assert "reactor.rules[1].args.colour: sms.send has no argument 'colour'" in found
    assert "reactor.rules[2]: a rule on sms.* that emits sms.send would loop" in found
    assert not any("rules[1].args.to" in p for p in found)


def test_default_rules_pass_their_own_validation() -> None:
    """The shipped rules reference only fields their events have."""
    settings = HooklineSettings.model_validate(
        {"reactor": {"rules": [r.model_dump(by_alias=True) for r in DEFAULT_RULES]}}
    )
    assert rule_problems(settings) == []
    assert [r.name for r in active_rules(HooklineSettings())] == [r.name for r in DEFAULT_RULES]
    assert active_rules(HooklineSettings.model_validate({"reactor": {"rules": []}})) == []
