"""``twilio``: ``X-Twilio-Signature``, base64 HMAC of the URL Twilio called plus its form parameters.

Exactly as Twilio's ``RequestValidator`` computes it:

* form bodies: the full URL (query string included), then each POST
  parameter sorted by name, ``name + value`` concatenated without
  delimiters (repeated names: their distinct values sorted);
* JSON bodies: Twilio adds ``bodySHA256=<hex sha256 of the body>`` to the URL's
  query and signs the URL alone; the body hash is checked as well, as text
  (lower-case hex, exactly as the SDK compares it);
* GET callbacks: the URL alone, its query included (there is no body);
* the URL is tried with and without the default port, because Twilio's own
  signing is inconsistent there (``https://h/x`` vs ``https://h:443/x``);
* HMAC-SHA1 keyed with the Auth Token, or HMAC-SHA256 when
  ``X-Twilio-Webhooks-Signature-Settings`` says ``algorithm=HMAC_SHA256``
  (SharedKey-signed webhooks).

The URL must be the one Twilio saw: the ingress builds it from
``server.public_base_url`` plus the request path and query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, parse_qsl, urlunsplit

from hookline.config.verify import TwilioVerify
from hookline.errors import VerificationError
from hookline.signatures.base import (
    MALFORMED,
    MISMATCH,
    SignedRequest,
    any_matches,
    decode_base64,
    require,
    secret_keys,
    split_url,
    utf8,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
BODY_HASH_PARAM = "bodySHA256"
_ALGORITHMS: dict[str, Callable[[], hashlib._Hash]] = {
    "HMAC_SHA1": hashlib.sha1,
    "HMAC_SHA256": hashlib.sha256,
}
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _algorithm(settings: str | None) -> Callable[[], hashlib._Hash]:
    for part in (settings or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            digest = _ALGORITHMS.get(value.strip().upper())
            if digest is None:
                raise VerificationError(MALFORMED, "unsupported signature algorithm")
            return digest
    return hashlib.sha1


def url_variants(url: str) -> list[str]:
    """The URL without and with a port (Twilio signs either); the host keeps its case."""
    parts = split_url(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    if port and not port.isdigit():
        raise VerificationError(MALFORMED, "URL has an invalid port")
    prefix = userinfo + at
    without = urlunsplit(parts._replace(netloc=prefix + host))
    port = port or str(_DEFAULT_PORTS.get(parts.scheme, ""))
    variants = [url, without]
    if port:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}")))
    return list(dict.fromkeys(variants))


def signing_string(url: str, params: Iterable[tuple[str, str]]) -> bytes:
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    text = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    return utf8(text)


def form_params(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise VerificationError(MALFORMED, "body is not a form") from exc


def _is_json(request: SignedRequest) -> bool:
    content_type = request.headers.get("content-type", "")
    return "json" in content_type.split(";", 1)[0].lower()


class TwilioScheme:
    reads_url = True  # the signature / token is in the URL the provider called
    name = "twilio"

    def __init__(self, options: TwilioVerify) -> None:
        self.options = options
        self._keys = secret_keys(options.secrets)

    def verify(self, request: SignedRequest, now: float) -> None:
        signature = decode_base64(require(request.headers, SIGNATURE_HEADER))
        digest = _algorithm(request.headers.get(SETTINGS_HEADER))
        query = parse_qs(split_url(request.url).query)
        body_ok = True
        # As RequestValidator.validate: the body hash stands in for the parameters only
        # when the body is passed raw (JSON); a form's own fields are signed otherwise.
        if BODY_HASH_PARAM in query and _is_json(request):
            presented_hash = utf8(query[BODY_HASH_PARAM][0])
            actual_hash = hashlib.sha256(request.body).hexdigest().encode()
            body_ok = hmac.compare_digest(presented_hash, actual_hash)
            params: list[tuple[str, str]] = []
        else:
            params = form_params(request.body)
        expected = [
            hmac.new(key, signing_string(url, params), digest).digest()
            for key in self._keys
            for url in url_variants(request.url)
        ]
        # Both checks always run, so timing does not tell which one failed.
        signature_ok = any_matches(expected, [signature])
        if not (signature_ok and body_ok):
            raise VerificationError(MISMATCH)

    def sign(self, request: SignedRequest, now: float) -> SignedRequest:
        url = request.url
        params: list[tuple[str, str]] = []
        if _is_json(request):
            parts = split_url(url)
            extra = f"{BODY_HASH_PARAM}={hashlib.sha256(request.body).hexdigest()}"
            url = urlunsplit(
                parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra)
            )
        else:
            params = form_params(request.body)
        digest = _algorithm(request.headers.get(SETTINGS_HEADER))
        mac = hmac.new(self._keys[0], signing_string(url, params), digest).digest()
        signed = request.with_headers({SIGNATURE_HEADER: base64.b64encode(mac).decode()})
        return SignedRequest(
            body=signed.body, headers=signed.headers, url=url, method=signed.method
        )
