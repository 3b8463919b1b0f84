"""One place that keeps secrets, tokens, signatures and phone numbers out of logs."""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

MASK = "***"

_SENSITIVE_KEY = re.compile(
    r"(secret|token|password|passwd|pwd|authorization|signature|api[_-]?key|apikey|cookie"
    r"|credential|private[_-]?key|^sig$|hmac|phone|msisdn|^to$|^from$|recipient|dstaddr|mobile)",
    re.IGNORECASE,
)
# E.164 and local mobile numbers: 8-15 digits, optionally with + and separators.
_PHONE = re.compile(r"(?<![\w.-])\+?\d[\d -]{6,17}\d(?![\w.-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_KNOWN_PREFIXES = re.compile(r"\b(whsec|whpk|whsk|sk_live|sk_test|rk_live)_[A-Za-z0-9+/=_-]+")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|password|pwd|signature|sig|key|secret)=)[^&\s]+")


class SecretRegistry:
    """Resolved secret values to redact wherever they appear in a log line."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        # Very short values would redact ordinary words; they are masked by key instead.
        self._values.update(v for v in values if len(v) >= 6)
        if self._values:
            alternatives = sorted((re.escape(v) for v in self._values), key=len, reverse=True)
            self._pattern = re.compile("|".join(alternatives))

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None else text


SECRETS = SecretRegistry()


def mask_phone(number: str) -> str:
    """Keep the country code and last two digits: ``+886912345678`` → ``+886*******78``."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return MASK
    head = ("+" if number.strip().startswith("+") else "") + digits[:3]
    return head + "*" * (len(digits) - 5) + digits[-2:]


def mask_text(text: str) -> str:
    text = SECRETS.redact(text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _KNOWN_PREFIXES.sub(lambda m: f"{m.group(1)}_{MASK}", text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    return _PHONE.sub(_phone_or_date, text)


def _phone_or_date(match: re.Match[str]) -> str:
    found = match.group(0)
    # ISO dates (Twilio's /2010-04-01/ API path, timestamps) are not phone numbers.
    return found if _DATE.fullmatch(found) else mask_phone(found)


def mask_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if _SENSITIVE_KEY.search(key):
        if isinstance(value, str) and re.search(
            r"phone|^to$|^from$|recipient|dstaddr|mobile|msisdn", key, re.I
        ):
            return mask_phone(value) if _PHONE.fullmatch(value.strip()) else MASK
        return MASK
    return mask_any(value)


def mask_any(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_any(v) for v in value]
    if isinstance(value, (int, float)):
        return value
    return mask_text(str(value))


# Keys whose values are ids or plain words; masking them would only hurt debugging.
# ``event`` is not among them: for stdlib loggers (httpx, uvicorn) it is free text.
_PASS_THROUGH = frozenset({"level", "timestamp", "logger", "request_id", "event_id"})


def masking_processor(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the only place masking happens."""
    for key in list(event_dict):
        if key in _PASS_THROUGH:
            continue
        if key == "event":
            event_dict[key] = mask_text(str(event_dict[key]))
            continue
        event_dict[key] = mask_value(key, event_dict[key])
    return event_dict
