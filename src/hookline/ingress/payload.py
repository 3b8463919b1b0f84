"""Parse a verified body into exactly the value the event will carry, or say why it cannot.

The CloudEvent is JSON in UTF-8, so a JSON body's value travels into ``data``
unchanged only when JSON can spell it again. Three outcomes:

* the value: integers exact, other numbers as IEEE-754 doubles (RFC 8259 §6),
  the same value a standard JSON parser reads from the signed bytes;
* :class:`UnparseableBody`: the body is not JSON at all (answered ``400``);
* :class:`UnrepresentableBody`: valid JSON (or what Python's ``json``
  accepts: ``NaN``, ``Infinity``) whose value would change on the way
  (non-finite numbers, a number beyond the double range, a lone surrogate
  escape, a duplicate key, an integer of more than 4 300 digits, nesting
  beyond the parser's limit), or a form with a repeated field or a percent
  escape that is not UTF-8. The delivery is kept whole in ``dlq.ingress``
  with the reason and answered ``202``: the provider's retry would carry the
  same bytes.

The fast path (jiter, the parser inside pydantic-core) refuses all of these
by itself except numbers beyond the double range, which become infinities;
:func:`hookline.envelope.to_json_exact` catches those when the event is
written. Only a body the fast path refuses is read a second time, to find out
which of the two errors it is.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any
from urllib.parse import parse_qsl

import jiter

from hookline.errors import NormalizationError
from hookline.providers.base import FORM_TYPES, JSON_TYPES, UnparseableBody, media_type, parse_body

# What jiter (the fast path) accepts; json.loads goes deeper, the event serializer does not.
MAX_DEPTH = 201
_MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class UnrepresentableBody(NormalizationError):
    """A verified body whose value the event cannot carry unchanged (kept in ``dlq.ingress``)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def is_json(content_type: str) -> bool:
    mt = media_type(content_type)
    return mt in JSON_TYPES or (mt.startswith("application/") and mt.endswith("+json"))


def parse(body: bytes, content_type: str) -> Any:
    """The payload of a POSTed body: exact JSON, exact form fields, else :func:`parse_body`'s."""
    if media_type(content_type) in FORM_TYPES:
        return parse_form(body)
    if not is_json(content_type):
        return parse_body(body, content_type)
    try:
        return jiter.from_json(body, allow_inf_nan=False, catch_duplicate_keys=True)
    except ValueError:
        pass
    return _diagnose(body)


def parse_form(body: bytes) -> dict[str, str]:
    """Form fields, refusing what a mapping of text would change: a repeated field (a dict
    keeps only the last) or a percent escape that is not UTF-8 (decoding would replace it)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnparseableBody(f"form body is malformed: {exc}") from exc
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except UnicodeDecodeError as exc:  # a ValueError too: caught first
        detail = "a percent escape in the form does not decode to UTF-8 text"
        raise UnrepresentableBody("not_utf8", detail) from exc
    except ValueError as exc:
        raise UnparseableBody(f"form body is malformed: {exc}") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        repeated = _first_repeated(pairs)
        raise UnrepresentableBody("duplicate_key", f"the field {repeated!r} appears twice")
    return fields


def _first_repeated(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return name
        seen.add(name)
    raise AssertionError("no name is repeated")


def _diagnose(body: bytes) -> Any:
    """Read a body the fast path refused with a parser that names each problem."""
    problems: list[UnrepresentableBody] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping = dict(items)
        if len(mapping) != len(items):
            detail = f"the key {_first_repeated(items)!r} appears twice in one object"
            problems.append(UnrepresentableBody("duplicate_key", detail))
        return mapping

    def constant(name: str) -> None:
        problems.append(UnrepresentableBody("non_finite_number", f"{name} is not a JSON number"))

    def fraction(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            detail = f"the number {text[:40]} is beyond the range of a double"
            problems.append(UnrepresentableBody("number_out_of_range", detail))
        return number

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > _MAX_INT_DIGITS:
            problems.append(
                UnrepresentableBody(
                    "integer_too_long", f"an integer has more than {_MAX_INT_DIGITS} digits"
                )
            )
            return 0
        return int(text)

    try:
        value = json.loads(
            body,
            object_pairs_hook=pairs,
            parse_constant=constant,
            parse_int=integer,
            parse_float=fraction,
        )
    except RecursionError as exc:
        raise UnrepresentableBody(
            "too_deep", f"the body nests deeper than {MAX_DEPTH} levels"
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnparseableBody(f"body is not valid JSON: {exc}") from exc
    if problems:
        raise problems[0]
    _check_tree(value)
    return value


def _check_tree(value: Any) -> None:
    """Depth and strings: iteratively, since the tree may be deeper than Python's stack allows."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                raise UnrepresentableBody(
                    "too_deep", f"the body nests deeper than {MAX_DEPTH} levels"
                )
            if isinstance(node, dict):
                for key, item in node.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = f"\\u{ord(text[exc.start]):04x}"
        raise UnrepresentableBody(
            "lone_surrogate",
            f"the escape {code} is half of a surrogate pair; UTF-8 cannot carry it",
        ) from exc
