"""The worker's fast envelope decoder against the pydantic CloudEvent model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hookline.envelope import CloudEvent, make_event
from hookline.worker.decode import decode_event

FIELDS = list(CloudEvent.model_fields)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
times = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda t: t.isoformat()),
    st.datetimes().map(lambda t: t.isoformat(sep=" ")),
    st.datetimes().map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.sampled_from(
        [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.1234567Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:59:60Z",
            "2026-01-01",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00-00:00",
            "2026-01-01t00:00:00z",
            "2026-01-01T00:00Z",
            "1700000000",
            "20260101T000000Z",
            "2026-13-01T00:00:00Z",
            "",
            "now",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**13),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
)
strings = st.text(max_size=6) | st.just("1.0")
named = st.text(min_size=1, max_size=6) | strings
valid_time = st.datetimes(timezones=st.none() | st.timezones()).map(lambda t: t.isoformat())
# A field's value: mostly what the model wants, sometimes anything JSON can hold.
field_value = {
    "time": times,
    "data": json_value,
}


def value_for(name: str) -> st.SearchStrategy[Any]:
    typical = field_value.get(name, strings | st.none())
    return st.one_of(typical, typical, json_value)


EXTRA = {"extension": json_value, "Time": json_value}
# Anything goes (mostly refused), and close to valid (mostly the fast path).
envelopes = st.fixed_dictionaries(
    {}, optional={name: value_for(name) for name in FIELDS} | EXTRA
) | st.fixed_dictionaries(
    {"id": named, "source": named, "type": named, "time": st.one_of(valid_time, valid_time, times)},
    optional={
        name: field_value.get(name, strings | st.none())
        for name in FIELDS
        if name not in {"id", "source", "type", "time"}
    }
    | EXTRA,
)


def outcome(decode: Any, raw: bytes) -> CloudEvent | None:
    try:
        return decode(raw)  # type: ignore[no-any-return]
    except ValueError:  # ValidationError is a ValueError
        return None


def same(fast: CloudEvent, model: CloudEvent) -> None:
    # repr: tells 1 from 1.0 and compares NaN with NaN. The time's tzinfo class differs
    # (pydantic-core's TzInfo, the standard library's timezone): compared by value below.
    fast_dump, model_dump = fast.model_dump(), model.model_dump()
    assert fast_dump.pop("time") == model_dump.pop("time")
    assert repr(fast_dump) == repr(model_dump)
    assert fast.model_extra == model.model_extra
    assert fast.to_json() == model.to_json()
    assert fast.key == model.key
    assert fast.time.utcoffset() == model.time.utcoffset()


def check(raw: bytes) -> None:
    model = outcome(CloudEvent.model_validate_json, raw)
    fast = outcome(decode_event, raw)
    if model is None:
        assert fast is None, f"the fast decoder accepted what the model refuses: {raw!r}"
        return
    assert fast is not None, f"the model accepted what the fast decoder refuses: {raw!r}"
    if "time" not in json.loads(raw):
        # Absent means "now" in both: compare everything but the clock.
        fast = fast.model_copy(update={"time": model.time})
    same(fast, model)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(envelopes)
@example({"id": "a", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": None})
@example({"id": "", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00Z"})
@example({"id": "a", "source": "/s", "type": "t", "time": None})
@example({"id": "a", "source": "/s", "type": "t", "time": 1700000000})
# pydantic reads a number this large as milliseconds; it cuts a seventh digit, msgspec rounds.
@example({"id": "a", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00.1234567Z"})
@example({"id": "a", "source": "/s", "type": "t", "time": 100000000000})
@example({"id": "a", "source": "/s", "type": "t", "specversion": "0.3"})
@example({"id": "a", "source": "/s", "type": "t", "time": "2026-01-01T00:00:00", "x": 1})
def test_fast_decoder_agrees_with_the_model(envelope: dict[str, Any]) -> None:
    """Every envelope the model refuses the fast decoder refuses, and every accepted one decodes to the same event."""
    check(json.dumps(envelope).encode())


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id":"a","id":"b","source":"/s","type":"t","time":"2026-01-01T00:00:00Z"}',
        b'{"id":"a","source":"/s","type":"t","time":"2026-01-01T00:00:00Z","data":1e400}',
        b'{"id":"a","source":"/s","type":"t","time":"2026-01-01T00:00:00Z","data":NaN}',
        b'{"id":"a","source":"/s","type":"t","time":"2026-01-01T00:00:00Z","data":"\\ud800"}',
        b'{"id":"a","source":"/s","type":"t","time":"2026-01-01T00:00:00Z","data":"\xff"}',
        b'{"id":"a","source":"/s","type":"t","time":"2026-01-01T00:00:00Z"} x',
        b"[1]",
        b"",
        b"null",
    ],
)
def test_fast_decoder_agrees_on_unusual_json(raw: bytes) -> None:
    """Duplicate keys, out-of-range numbers, NaN, lone surrogates, bad UTF-8 and trailing bytes decode as the model decodes them."""
    model = outcome(CloudEvent.model_validate_json, raw)
    fast = outcome(decode_event, raw)
    assert (model is None) == (fast is None), raw
    if model is not None and fast is not None:
        same(fast, model)


@given(
    st.text(min_size=1, max_size=8),
    json_value,
    st.datetimes(timezones=st.just(UTC)),
)
def test_events_hookline_writes_decode_on_the_fast_path(
    subject: str, data: Any, when: datetime
) -> None:
    """An event made by make_event round-trips through the fast decoder as the model reads it."""
    event = make_event(source="/s", type="t", subject=subject, data=data, time=when)
    raw = event.to_json()
    same(decode_event(raw), CloudEvent.model_validate_json(raw))


def test_refusal_is_the_models_error() -> None:
    """A refused envelope raises the model's own ValidationError (the dead letter's reason)."""
    with pytest.raises(ValidationError, match="id"):
        decode_event(b'{"id":"","source":"/s","type":"t","time":"2026-01-01T00:00:00Z"}')
