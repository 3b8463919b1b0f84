"""The one contract every signature scheme implements.

A scheme is built from its ``verify`` options. ``verify`` checks the raw bytes
exactly as they arrived and raises only :class:`VerificationError` with a reason
code; ``sign`` produces what the provider would send, and is what the CLI,
the simulators and the tests use.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar, overload
from urllib.parse import SplitResult, urlsplit

from hookline.config.secrets import Secret
from hookline.errors import VerificationError

_T = TypeVar("_T")

# Reason codes (a metric label, so a closed set).
MISSING_HEADER = "missing_header"
MALFORMED = "malformed"
STALE_TIMESTAMP = "stale_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
MISMATCH = "mismatch"
MISSING_TOKEN = "missing_token"  # noqa: S105 - a reason code
NO_SECRET = "no_secret"  # noqa: S105 - a reason code


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (first value wins)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, str] = {}
        for key, value in pairs:
            self._items.setdefault(key.lower(), value)

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """From an ASGI scope's header pairs, without the generic constructor's per-pair work."""
        items: dict[str, str] = {}
        for key, value in raw:
            name = key.lower().decode("latin-1")
            if name not in items:
                items[name] = value.decode("latin-1")
        headers = cls.__new__(cls)
        headers._items = items
        return headers

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    # Mapping.get goes through __getitem__ and a KeyError per miss; the ingress calls it
    # several times per request.
    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, /, default: str) -> str: ...
    @overload
    def get(self, key: str, /, default: _T) -> str | _T: ...
    def get(self, key: str, /, default: object = None) -> object:
        return self._items.get(key.lower(), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def merged(self, extra: Mapping[str, str]) -> Headers:
        combined = dict(self._items)
        combined.update({k.lower(): v for k, v in extra.items()})
        return Headers(combined)


# Built once per request: not frozen, for the same cost reason as RawWebhook;
# schemes read it, ``with_headers`` and ``sign`` return new ones.
@dataclass(slots=True)
class SignedRequest:
    """A webhook request as the provider sent it: raw body, headers, the URL it called."""

    body: bytes
    headers: Headers = field(default_factory=Headers)
    url: str = "http://localhost/"
    method: str = "POST"

    def with_headers(self, extra: Mapping[str, str]) -> SignedRequest:
        return replace(self, headers=self.headers.merged(extra))


class Scheme(Protocol):
    """A signature scheme bound to one source's options and secrets."""

    name: str

    def verify(self, request: SignedRequest, now: float) -> None:
        """Return if the request is authentic; raise :class:`VerificationError` otherwise."""

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        """The request as the provider would send it, signed with the first secret."""


def reads_url(scheme: Scheme) -> bool:
    """Whether the scheme's check reads ``request.url`` (a class attribute ``reads_url = True``).

    The ingress builds the public URL only for those: it is not free on the hot path.
    """
    return bool(getattr(scheme, "reads_url", False))


def require(headers: Headers, name: str) -> str:
    value = headers.get(name)
    if value is None or value == "":
        raise VerificationError(MISSING_HEADER, name)
    return value


def check_timestamp(raw: str, now: float, tolerance: int) -> int:
    """Parse a Unix timestamp (ASCII digits only) and enforce the tolerance both ways."""
    text = raw.strip()
    # int() would also take "1_700", "+5" and non-ASCII digits; a sender never does.
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise VerificationError(MALFORMED, "timestamp is not a number of seconds")
    ts = int(text)
    if ts < now - tolerance:
        raise VerificationError(STALE_TIMESTAMP, f"{int(now - ts)}s old")
    if ts > now + tolerance:
        raise VerificationError(FUTURE_TIMESTAMP, f"{int(ts - now)}s ahead")
    return ts


def decode_hex(value: str) -> bytes:
    """Lower-case hex only, as the senders write it, with nothing around it.

    The official verifiers (Stripe's and Slack's SDKs, GitHub's reference code)
    compare the hex text itself, so ``ABCD`` or `` abcd`` fails there where
    ``abcd`` passes; decoding leniently would accept what they refuse.
    """
    text = value
    if text != text.lower():
        raise VerificationError(MALFORMED, "signature is not lower-case hex")
    try:
        return binascii.unhexlify(text)
    except (ValueError, binascii.Error) as exc:
        raise VerificationError(MALFORMED, "signature is not hex") from exc


def decode_base64(value: str) -> bytes:
    """Canonical base64 only: the text a sender's encoder gives for the decoded bytes.

    Twilio's SDK and Shopify's reference code compare the base64 text itself, so a
    spelling with different unused trailing bits, which decodes to the same bytes,
    fails there; it fails here too.
    """
    text = value
    try:
        decoded = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise VerificationError(MALFORMED, "signature is not base64") from exc
    if base64.b64encode(decoded).decode("ascii") != text:
        raise VerificationError(MALFORMED, "signature is not canonical base64")
    return decoded


def split_url(url: str) -> SplitResult:
    """``urlsplit`` that fails as a verification error (it raises on a broken IPv6 host).

    A tab, CR or LF in the URL is refused: ``urlsplit`` silently drops them, so a
    signed parameter would compare equal without them where the providers' own
    verifiers (Twilio's) compare the text as it came.
    """
    if "\t" in url or "\r" in url or "\n" in url:
        raise VerificationError(MALFORMED, "URL holds a control character")
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise VerificationError(MALFORMED, "URL cannot be parsed") from exc


def utf8(text: str) -> bytes:
    """Header text as bytes; never raises (a lone surrogate cannot crash a verifier)."""
    return text.encode("utf-8", "surrogatepass")


def secret_keys(secrets: Iterable[Secret]) -> tuple[bytes, ...]:
    """The secrets' values as HMAC keys, read once when the scheme is built."""
    return tuple(secret.get().encode() for secret in secrets)


def any_matches(expected: Iterable[bytes], presented: Iterable[bytes]) -> bool:
    """Constant-time comparison of every (expected, presented) pair; no early exit."""
    found = False
    candidates = list(presented)
    for want in expected:
        for got in candidates:
            found |= hmac.compare_digest(want, got)
    return found
