"""A/B message templates: a stable variant per message id, recorded on events and counted per variant."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from hookline.bus.broker import EmbeddedBroker
from hookline.cli import main
from hookline.envelope import CloudEvent, make_event
from hookline.messages.sms import SmsSend
from hookline.observability.metrics import REGISTRY
from hookline.services.sms.config import SmsSettings
from hookline.services.sms.templates import MessageTemplate, TemplateProblem, choose, render
from tests.services.sms.loop import sms_loop

WELCOME = {
    "variants": {
        "a": {"body": "Hi {{ name }}", "weight": 70},
        "b": {"body": "Hello {{ name }}!", "weight": 30},
    }
}


def _template(raw: dict[str, object] = WELCOME) -> MessageTemplate:
    return MessageTemplate.model_validate(raw)


def _id_for(variant: str) -> str:
    template = _template()
    while True:
        candidate = str(uuid.uuid4())
        if choose("welcome", template, candidate) == variant:
            return candidate


def test_variant_is_a_function_of_the_message_id_and_follows_the_weights() -> None:
    """The same id always gets the same variant; over 4000 ids the split is near 70/30."""
    template = _template()
    ids = [f"msg-{n}" for n in range(4000)]
    first = [choose("welcome", template, i) for i in ids]
    assert first == [choose("welcome", _template(), i) for i in ids]
    share = first.count("a") / len(first)
    assert 0.66 < share < 0.74
    # Declaration order does not matter: the variants are walked in name order.
    swapped = _template({"variants": dict(reversed(list(WELCOME["variants"].items())))})  # type: ignore[attr-defined]
    assert [choose("welcome", swapped, i) for i in ids[:200]] == first[:200]


def test_a_zero_weight_variant_is_never_chosen() -> None:
    """Weight 0 switches a variant off without deleting it."""
    template = _template({"variants": {"a": {"body": "x"}, "off": {"body": "y", "weight": 0}}})
    assert {choose("t", template, f"m{n}") for n in range(500)} == {"a"}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"variants": {}}, "at least 1"),
        ({"variants": {"a": {"body": "x", "weight": 0}}}, "weight above 0"),
        ({"variants": {"a": {"body": "Hi {{ name "}}}, "unclosed"),
        ({"variants": {"a": {"body": "{{ name | upper }}"}}}, "unknown filter"),
        ({"variants": {"a": {"body": "x", "weight": -1}}}, "greater than or equal"),
    ],
)
def test_bad_templates_are_refused_in_the_configuration(
    raw: dict[str, object], needle: str
) -> None:
    """services.sms.templates is checked at start-up (config check), never at send time."""
    with pytest.raises(ValidationError, match=needle):
        SmsSettings.model_validate({"templates": {"welcome": raw}})


def test_render_fills_variables_and_names_what_is_missing() -> None:
    """The chosen variant renders with the variables; a missing one or unknown template is named."""
    templates = {"welcome": _template()}
    rendered = render(templates, "welcome", {"name": "Mei"}, _id_for("b"))
    assert (rendered.variant, rendered.body) == ("b", "Hello Mei!")
    with pytest.raises(TemplateProblem, match="'name'") as missing:
        render(templates, "welcome", {}, "m-1")
    assert missing.value.code == "missing_variable"
    with pytest.raises(TemplateProblem) as unknown:
        render(templates, "nope", {}, "m-1")
    assert unknown.value.code == "unknown_template"


@pytest.mark.parametrize(
    "data",
    [
        {"to": "+14155550123"},
        {"to": "+14155550123", "body": "x", "template": "welcome"},
        {"to": "+14155550123", "body": "x", "variables": {"name": "Mei"}},
    ],
)
def test_sms_send_takes_exactly_one_of_body_and_template(data: dict[str, object]) -> None:
    """Neither, both, or variables without a template: the command is invalid."""
    with pytest.raises(ValidationError):
        SmsSend.model_validate(data)


def _outcome(variant: str, outcome: str) -> float:
    labels = {"template": "welcome", "variant": variant, "outcome": outcome}
    return REGISTRY.get_sample_value("hookline_sms_template_outcomes_total", labels) or 0.0


def _templated(message_id: str, to: str, **data: object) -> CloudEvent:
    return make_event(
        id=message_id,
        source="/tests/sms",
        type="sms.send",
        data={"to": to, "template": "welcome", "variables": {"name": "Mei"}, **data},
    )


async def test_templated_messages_carry_their_variant_and_are_counted_per_variant(
    broker: EmbeddedBroker,
) -> None:
    """Through the real loop: each variant's body is sent, events name template and variant,
    delivery and failure are counted per variant."""
    async with sms_loop(broker.bootstrap_servers, sms={"templates": {"welcome": WELCOME}}) as loop:
        before = {(v, o): _outcome(v, o) for v in "ab" for o in ("accepted", "delivered", "failed")}
        a = _templated(_id_for("a"), "+14155550123")
        b = _templated(_id_for("b"), "+14155550124")
        refused = _templated(_id_for("b"), "+886912340001")  # Every8d: invalid recipient
        await loop.send(a, b, refused)
        for command in (a, b):
            await loop.wait_event("sms.message.delivered", command.id)
        failed = await loop.wait_event("sms.message.failed", refused.id)
        assert (failed.data["template"], failed.data["variant"]) == ("welcome", "b")

        messages = (await loop.state("twilio"))["entities"]["messages"]
        bodies = {m["ref"]: m["body"] for m in messages.values()}
        assert bodies[a.id] == "Hi Mei" and bodies[b.id] == "Hello Mei!"
        for command, variant in ((a, "a"), (b, "b")):
            accepted = await loop.wait_event("sms.message.accepted", command.id)
            assert (accepted.data["template"], accepted.data["variant"]) == ("welcome", variant)
            delivered = await loop.wait_event("sms.message.delivered", command.id)
            # Reports are normalized by stateless adapters: the variant is not on them.
            assert delivered.data["template"] is None and delivered.data["variant"] is None

        await _until(lambda: _outcome("b", "delivered") - before[("b", "delivered")] >= 1)
        delta = {k: _outcome(*k) - v for k, v in before.items()}
        assert delta == {
            ("a", "accepted"): 1,
            ("a", "delivered"): 1,
            ("a", "failed"): 0,
            ("b", "accepted"): 1,
            ("b", "delivered"): 1,
            ("b", "failed"): 1,
        }


async def test_a_command_that_cannot_be_rendered_is_dead_lettered_and_nothing_is_sent(
    broker: EmbeddedBroker,
) -> None:
    """An unknown template or a missing variable is a permanent invalid_command: DLQ, no call."""
    async with sms_loop(broker.bootstrap_servers, sms={"templates": {"welcome": WELCOME}}) as loop:
        unknown = _templated(str(uuid.uuid4()), "+14155550123", template="nope")
        missing = _templated(str(uuid.uuid4()), "+14155550123", variables={"other": "x"})
        await loop.send(unknown, missing)
        dead = await loop.dead_letters(expect=2)
        messages = {
            d.key.decode(): dict(d.headers)["hookline-error-message"].decode() for d in dead
        }
        assert "no template 'nope'" in messages[unknown.id]
        assert "needs variable 'name'" in messages[missing.id]
        assert (await loop.state("twilio"))["requests"]["total"] == 0


async def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def test_config_check_names_a_bad_template_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """hookline config check exits 1 and points at the variant whose body does not compile."""
    path = tmp_path / "hookline.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "sms": {"templates": {"welcome": {"variants": {"a": {"body": "Hi {{ x "}}}}}
                }
            }
        )
    )
    assert main(["config", "check", "--config", str(path)]) == 1
    assert "services.sms.templates.welcome.variants.a.body" in capsys.readouterr().err
    path.write_text(yaml.safe_dump({"services": {"sms": {"templates": {"welcome": WELCOME}}}}))
    assert main(["config", "check", "--config", str(path)]) == 0
