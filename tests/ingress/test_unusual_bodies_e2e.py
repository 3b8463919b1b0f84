"""Signed but unusual JSON bodies through a running ingress: every one gets a decision (202, or
400 when it is not JSON at all), never a 500, and whatever is accepted arrives unchanged: the
event's data equals what the provider signed, or the body is kept byte-exact in dlq.ingress."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all

MAX_BODY = 256 * 1024


def signed_headers(settings: HooklineSettings, body: bytes) -> dict[str, str]:
    """Headers as the billing source's provider signs them, with a delivery id of its own."""
    headers = Headers({"content-type": "application/json", "webhook-id": f"msg_{uuid.uuid4().hex}"})
    request = SignedRequest(body=body, headers=headers)
    return dict(build_scheme(settings.sources["billing"].verify).sign(request, time.time()).headers)


def nested(depth: int) -> bytes:
    return b'{"doc": ' + b"[" * depth + b"]" * depth + b"}"


# (name, body, reason it is kept for, or None when it is published as it is)
CASES: list[tuple[str, bytes, str | None]] = [
    ("nested 201 levels", nested(200), None),
    ("nested 202 levels", nested(201), "too_deep"),
    ("nested 256 levels", nested(255), "too_deep"),
    ("nested 10 000 levels", nested(9_999), "too_deep"),
    ("integer of 4 300 digits", b'{"n": ' + b"9" * 4300 + b"}", None),
    ("integer of 4 301 digits", b'{"n": ' + b"9" * 4301 + b"}", "integer_too_long"),
    ("lone high surrogate", b'{"s": "\\ud800"}', "lone_surrogate"),
    ("lone low surrogate in a key", b'{"\\udc00": 1}', "lone_surrogate"),
    ("surrogate pair", b'{"s": "\\ud83d\\ude00"}', None),
    ("NaN", b'{"x": NaN}', "non_finite_number"),
    ("-Infinity", b'{"x": [1, -Infinity]}', "non_finite_number"),
    ("1e999999", b'{"x": 1e999999}', "non_finite_number"),
    ("-1e400 in a nested object", b'{"x": {"y": -1e400}}', "non_finite_number"),
    ("duplicate key", b'{"amount": 1, "amount": 1000}', "duplicate_key"),
    ("duplicate key spelled with an escape", b'{"a": 1, "\\u0061": 2}', "duplicate_key"),
    ("NaN as text is just text", b'{"s": "NaN and Infinity"}', None),
    (
        "exponent forms",
        b'{"x": [1E+2, -0, -0.0, 1e-400, 0.1000000000000000055511151231257827]}',
        None,
    ),
]


async def kept_and_published(
    settings: HooklineSettings, bootstrap: str, expect: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every event id on billing's events topic and on dlq.ingress, with its record."""
    topics = Topics(settings.kafka.topic_prefix)
    published = await consume_all(bootstrap, topics.events("billing"), timeout=3)
    kept = await consume_all(bootstrap, topics.ingress_dlq, timeout=3)
    by_id = lambda records: {json.loads(r.value)["id"]: r for r in records}  # noqa: E731
    assert len(published) + len(kept) >= expect or expect == 0
    return by_id(published), by_id(kept)


async def test_each_unusual_body_is_published_unchanged_or_kept_with_its_reason(
    broker: EmbeddedBroker,
) -> None:
    """Deep nesting, huge integers, surrogates, non-finite numbers, duplicate keys: 202, never 500;
    published data equals the signed value, kept bodies are byte-exact with the reason."""
    settings = settings_for(broker.bootstrap_servers, server={"max_body_bytes": MAX_BODY})
    answers: list[tuple[str, bytes, str | None, httpx.Response]] = []
    async with running_ingress(settings) as url, httpx.AsyncClient(timeout=30) as client:
        for name, body, reason in CASES:
            response = await client.post(
                f"{url}/webhooks/billing", content=body, headers=signed_headers(settings, body)
            )
            answers.append((name, body, reason, response))
    for name, _, _, response in answers:
        assert response.status_code == 202, (name, response.status_code, response.text)
    published, kept = await kept_and_published(settings, broker.bootstrap_servers, len(CASES))
    for name, body, reason, response in answers:
        event_id = response.json()["id"]
        if reason is None:
            assert event_id in published and event_id not in kept, name
            assert json.loads(published[event_id].value)["data"] == signed_value(body), name
        else:
            assert event_id in kept and event_id not in published, name
            letter = json.loads(kept[event_id].value)["data"]
            assert base64.b64decode(letter["body_base64"]) == body, name
            assert letter["error"]["reason"] == reason, (name, letter["error"])
            assert dict(kept[event_id].headers)["hookline-dlq-reason"] == reason.encode(), name


async def test_a_body_that_is_not_json_is_still_a_400(broker: EmbeddedBroker) -> None:
    """Bytes that are not JSON at all (truncated, invalid UTF-8) answer 400 problem+json, not 202."""
    settings = settings_for(broker.bootstrap_servers)
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        for body in (b'{"a": [1, 2', b'{"a": "\xff"}', b'{"a": NaN'):
            response = await client.post(
                f"{url}/webhooks/billing", content=body, headers=signed_headers(settings, body)
            )
            assert response.status_code == 400, body
            assert response.headers["content-type"] == "application/problem+json"


def signed_value(body: bytes) -> Any:
    """What the provider signed, read strictly: a value JSON says one way only, or an error."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        assert len({k for k, _ in pairs}) == len(pairs), "duplicate key"
        return dict(pairs)

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    value = json.loads(body, object_pairs_hook=unique, parse_constant=refuse)
    text = json.dumps(value, allow_nan=False)  # non-finite numbers and lone surrogates fail here
    text.encode("utf-8")
    return value


FORM = (
    b"MessageSid=SM3f0c9b1e2d4a4c7e8f0a1b2c3d4e5f60&AccountSid=AC0123456789abcdef0123456789abcdef"
    b"&To=%2B14155550123&MessageStatus=delivered&ref=7b0e2f6c-3f1a-4e55-9a0b-1c2d3e4f5a6b"
)


async def test_form_fields_a_mapping_would_change_are_kept_not_altered(
    broker: EmbeddedBroker,
) -> None:
    """A form with a repeated field (a dict keeps the last) or a percent escape that is not
    UTF-8 (decoding would replace it) is kept byte-exact in dlq.ingress with its reason."""
    sms = {
        "provider": "twilio",
        "verify": {"scheme": "hmac", "header": "X-Sig", "secrets": ["form-secret-0123456789"]},
    }
    settings = settings_for(broker.bootstrap_servers, sources={"sms": sms})
    scheme = build_scheme(settings.sources["sms"].verify)
    cases = [
        (FORM, None),
        (FORM + b"&MessageStatus=failed", "duplicate_key"),
        (FORM + b"&Body=caf%E9", "not_utf8"),
    ]
    answers = []
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        for body, reason in cases:
            request = SignedRequest(
                body=body, headers=Headers({"content-type": "application/x-www-form-urlencoded"})
            )
            headers = dict(scheme.sign(request, time.time()).headers)
            response = await client.post(f"{url}/webhooks/sms", content=body, headers=headers)
            assert response.status_code in (200, 202), (reason, response.text)
            answers.append((body, reason))
    topics = Topics(settings.kafka.topic_prefix)
    kept = await consume_all(broker.bootstrap_servers, topics.ingress_dlq, expect=2)
    letters = {
        json.loads(r.value)["data"]["error"]["reason"]: json.loads(r.value)["data"] for r in kept
    }
    assert sorted(letters) == ["duplicate_key", "not_utf8"]
    for body, reason in answers:
        if reason is not None:
            assert base64.b64decode(letters[reason]["body_base64"]) == body
    published = await consume_all(broker.bootstrap_servers, topics.events("sms"), expect=1)
    assert len(published) == 1


async def test_an_adapter_bug_keeps_the_delivery_and_a_failing_acknowledgement_keeps_the_202(
    broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adapter raising something else than NormalizationError (even quoting a lone
    surrogate) is a kept delivery (202, reason adapter_error); an acknowledgement that raises
    after the publish leaves the plain 202."""
    from hookline.providers.standard.adapter import StandardAdapter

    settings = settings_for(broker.bootstrap_servers)
    body = b'{"type": "invoice.paid", "data": {"id": "inv_1"}}'

    def broken_normalize(self: StandardAdapter, raw: Any) -> list[Any]:
        raise ValueError("cannot read \ud800")

    def broken_acknowledgement(self: StandardAdapter, events: list[Any]) -> Any:
        raise RuntimeError("acknowledgement bug")

    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        with monkeypatch.context() as patch:
            patch.setattr(StandardAdapter, "normalize", broken_normalize)
            kept = await client.post(
                f"{url}/webhooks/billing", content=body, headers=signed_headers(settings, body)
            )
        with monkeypatch.context() as patch:
            patch.setattr(StandardAdapter, "acknowledgement", broken_acknowledgement)
            published = await client.post(
                f"{url}/webhooks/billing", content=body, headers=signed_headers(settings, body)
            )
    assert kept.status_code == 202 and published.status_code == 202, (kept.text, published.text)
    events, letters = await kept_and_published(settings, broker.bootstrap_servers, 2)
    assert published.json()["id"] in events
    letter = json.loads(letters[kept.json()["id"]].value)["data"]
    assert letter["error"]["reason"] == "adapter_error"
    assert letter["error"]["message"] == "cannot read \\ud800"
    assert base64.b64decode(letter["body_base64"]) == body


# --- the property: adversarial JSON documents, generated as text ---------------------------

_ESCAPES = [
    "\\ud800",
    "\\udbff",
    "\\udc00",
    "\\udfff",
    "\\ud83d\\ude00",
    "\\u0000",
    "\\uffff",
    "\\ufeff",
    "\\u2028",
    '\\"',
    "\\\\",
    "\\/",
]
_NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "-1e400",
    "1e-400",
    "1E+2",
    "-0",
    "-0.0",
    "2.5e-324",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "0.1000000000000000055511151231257827",
    "9007199254740993",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "9" * 4300,
    "-" + "9" * 4300,
    "1" + "0" * 4300,
]
_KEYS = st.sampled_from(["a", "b", "id", "", "\\u0061", "é", "\\ud800", "\\ud83d\\ude00"])


def _string(parts: list[str]) -> str:
    return '"' + "".join(parts) + '"'


_text_part = st.text(max_size=8).map(
    lambda t: json.dumps(t, ensure_ascii=False)[1:-1]
) | st.sampled_from(_ESCAPES)
_strings = st.lists(_text_part, max_size=4).map(_string)
_integers = st.integers().map(str)
_floats = st.floats().map(
    lambda f: {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(repr(f), repr(f))
)
_scalars = st.one_of(
    st.sampled_from(["true", "false", "null"]),
    _integers,
    _floats,
    st.sampled_from(_NUMBERS),
    _strings,
)


def _containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arrays = st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
    members = st.tuples(_KEYS | _strings.map(lambda s: s[1:-1]), children)
    objects = st.lists(members, max_size=4).map(
        lambda pairs: "{" + ",".join(f'"{k}": {v}' for k, v in pairs) + "}"
    )
    depths = st.sampled_from([150, 199, 200, 201, 255, 1000, 10_000])
    deep = st.tuples(depths, children).map(lambda d: "[" * d[0] + d[1] + "]" * d[0])
    return st.one_of(arrays, objects, objects, deep)


documents = st.recursive(_scalars, _containers, max_leaves=12).map(
    lambda doc: ('{"doc": ' + doc + "}").encode()
)


async def test_adversarial_documents_never_500_and_arrive_unchanged_or_kept(
    broker: EmbeddedBroker,
) -> None:
    """Generated signed JSON: every answer is 202; each id is on the events topic with data equal
    to the signed value, or in dlq.ingress with the body byte-exact."""
    settings = settings_for(broker.bootstrap_servers, server={"max_body_bytes": MAX_BODY})
    sent: list[tuple[bytes, str]] = []
    async with running_ingress(settings) as url:
        # Hypothesis drives a plain function: run it in a thread, beside the ingress's loop.
        with httpx.Client(timeout=30) as client:

            @settings_for_hypothesis
            @given(documents)
            def post(body: bytes) -> None:
                response = client.post(
                    f"{url}/webhooks/billing", content=body, headers=signed_headers(settings, body)
                )
                assert response.status_code == 202, (
                    body[:200],
                    response.status_code,
                    response.text,
                )
                sent.append((body, response.json()["id"]))

            await asyncio.to_thread(post)
    published, kept = await kept_and_published(settings, broker.bootstrap_servers, len(sent))
    for body, event_id in sent:
        if event_id in published:
            assert json.loads(published[event_id].value)["data"] == signed_value(body), body[:200]
        else:
            assert event_id in kept, body[:200]
            assert base64.b64decode(json.loads(kept[event_id].value)["data"]["body_base64"]) == body


settings_for_hypothesis = settings(
    max_examples=100,
    deadline=None,
    database=None,
    # Deep and long documents are the point here, and each example is an HTTP round trip.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
