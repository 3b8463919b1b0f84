"""Provider clients speak TLS 1.2 or newer (configurable) and refuse plain http beyond loopback."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from hookline.config.models import ProviderSettings
from hookline.http.client import tls_context


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _reasons(exc: BaseException) -> str:
    """The messages of an error and everything it was raised from (the SSL reason is deep)."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        seen.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " | ".join(seen)


@pytest.fixture
async def tls12_only_server(tmp_path: Path) -> AsyncIterator[str]:
    """A real TLS server on loopback that speaks at most TLS 1.2, answering any request 200."""
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.maximum_version = ssl.TLSVersion.TLSv1_2

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"https://127.0.0.1:{port}"


async def test_min_version_13_refuses_a_tls12_server(tls12_only_server: str) -> None:
    """With tls.min_version 1.3 no common version exists: the handshake ends before any
    certificate is looked at (with 1.2, the next test, it gets that far)."""
    async with httpx.AsyncClient(verify=tls_context("1.3")) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(tls12_only_server)
    reasons = _reasons(caught.value)
    assert "SSL" in reasons
    assert "CERTIFICATE_VERIFY_FAILED" not in reasons


async def test_min_version_12_negotiates_and_then_checks_the_certificate(
    tls12_only_server: str,
) -> None:
    """With 1.2 the version is accepted; the self-signed certificate is then refused (checks stay on)."""
    async with httpx.AsyncClient(verify=tls_context("1.2")) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(tls12_only_server)
    assert "CERTIFICATE_VERIFY_FAILED" in _reasons(caught.value)


@pytest.mark.parametrize(
    "url", ["http://api.colt.net/ebonding/v5", "http://10.0.0.5:8101", "http://sandbox.internal"]
)
def test_plain_http_off_loopback_is_refused_at_load(url: str) -> None:
    """An http:// base URL to a non-loopback host fails configuration with a clear reason."""
    with pytest.raises(ValidationError, match="plain http"):
        ProviderSettings(base_url=url)
    assert ProviderSettings(base_url=url, tls={"allow_plain_http": True}).base_url == url


def test_plain_http_token_url_off_loopback_is_refused() -> None:
    """The token URL is held to the same rule: credentials travel there."""
    with pytest.raises(ValidationError, match=r"auth\.token_url"):
        ProviderSettings(
            base_url="https://api.example.com",
            auth={
                "type": "oauth2_client_credentials",
                "token_url": "http://auth.example.com/token",
                "client_id": "c",
                "client_secret": "s",
            },
        )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8101", "http://localhost:8102", "http://[::1]:9", "https://api.colt.net"],
)
def test_loopback_and_https_are_allowed(url: str) -> None:
    """The sandbox (loopback) and https need no opt-in."""
    assert ProviderSettings(base_url=url).base_url == url
