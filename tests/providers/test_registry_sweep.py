"""Every registered provider passes the same contract suites: registering a provider tests it.

The suites read only :data:`hookline.providers.registry.PROVIDERS`, so a new
provider folder with its one registry line is swept here without a test of
its own: its adapter against its samples and hostile bodies, its client's
error map against the statuses every provider shares, its simulator under a
real uvicorn server (admin API, faults, default port, callback source).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hookline.cli.send_cmd import signed_request
from hookline.config.loader import dev_config, load_settings
from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.errors import HooklineError, NormalizationError, RetryableError
from hookline.http.client import ApiClient
from hookline.messages import all_types
from hookline.providers.base import ProviderSpec, RawWebhook, Sample, parse_body
from hookline.providers.registry import PROVIDERS
from hookline.providers.simulators import DEFAULT_SOURCES, simulator_settings
from hookline.signatures.base import Headers
from tests.support.servers import serve

RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)
ALL = sorted(PROVIDERS)
WITH_CLIENT = sorted(name for name, spec in PROVIDERS.items() if spec.client is not None)
WITH_SIMULATOR = sorted(name for name, spec in PROVIDERS.items() if spec.simulator is not None)
HOSTILE: tuple[Any, ...] = ({}, [], "text", 0, None, {"data": None}, {"id": {"nested": []}})


@pytest.fixture(scope="module")
def settings() -> HooklineSettings:
    return load_settings(dev_config())


def _source_of(settings: HooklineSettings, name: str) -> str | None:
    return next((s for s, src in settings.sources.items() if src.provider == name), None)


def _raw(settings: HooklineSettings, spec: ProviderSpec, sample: Sample) -> RawWebhook:
    """The sample as ``hookline send`` delivers it: the provider's own headers and signature."""
    source = _source_of(settings, spec.name)
    body, headers = sample.body, Headers({"content-type": sample.content_type})
    stamp = spec.extras.get("delivery")
    if source is not None:
        signed = signed_request(settings, source, sample, "http://127.0.0.1:8080", "evt_sweep_1")
        body, headers = signed.body, signed.headers
    elif stamp is not None:  # no source in the dev configuration: the provider's headers alone
        body, extra = stamp(sample, "evt_sweep_1")
        headers = Headers({"content-type": sample.content_type, **extra})
    return RawWebhook(
        source=source or spec.name,
        provider=spec.name,
        body=body,
        content_type=sample.content_type,
        headers=headers,
        query={},
        received_at=RECEIVED,
        payload=parse_body(body, sample.content_type),
    )


@pytest.mark.parametrize("name", ALL)
def test_spec_is_complete_and_named_consistently(name: str) -> None:
    """A spec's adapter names its provider, accepts a content type and ships samples."""
    spec = PROVIDERS[name]
    assert spec.name == name
    assert spec.adapter.provider == name
    assert spec.adapter.content_types
    assert spec.samples(), f"{name} ships no sample for `hookline send`"
    if spec.simulator is not None:
        assert spec.simulator_port and spec.callback_source, name


@pytest.mark.parametrize("name", ALL)
def test_every_sample_normalizes_to_its_declared_types(
    name: str, settings: HooklineSettings
) -> None:
    """Each sample becomes events of this provider, of the types its spec declares, with valid data."""
    spec = PROVIDERS[name]
    catalog = all_types()
    declared = {t.type for t in spec.message_types}
    for sample in spec.samples():
        events = spec.adapter.normalize(_raw(settings, spec, sample))
        assert events, f"{name}/{sample.name} normalized to nothing"
        for event in events:
            assert event.provider == name
            if declared:
                assert event.type in declared, f"{name}/{sample.name}: {event.type} not in its spec"
            if event.type in catalog:
                catalog[event.type].model.model_validate(event.data)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("payload", HOSTILE, ids=repr)
def test_hostile_payloads_raise_only_normalization_errors(name: str, payload: Any) -> None:
    """A verified body of the wrong shape is a NormalizationError (kept in the DLQ), nothing else."""
    spec = PROVIDERS[name]
    content_type = spec.adapter.content_types[0]
    body = json.dumps(payload).encode()
    if "json" not in content_type:  # form providers: the same shapes as form fields
        fields = payload if isinstance(payload, dict) else {"value": payload}
        body = urlencode({k: json.dumps(v) for k, v in fields.items()}).encode()
    raw = RawWebhook(
        source=name,
        provider=name,
        body=body,
        content_type=content_type,
        headers=Headers({"content-type": content_type}),
        query={},
        received_at=RECEIVED,
        payload=parse_body(body, content_type),
    )
    try:
        events = spec.adapter.normalize(raw)
    except NormalizationError:
        return
    assert isinstance(events, list)


@pytest.mark.parametrize("name", ALL)
def test_declared_message_types_are_in_the_catalog(name: str) -> None:
    """Every type a spec declares is documented by ``hookline schemas export``."""
    catalog = all_types()
    for message in PROVIDERS[name].message_types:
        assert catalog.get(message.type) is message


def test_simulator_ports_and_callback_sources_are_distinct() -> None:
    """No two simulators share a default port or a callback source."""
    ports = [PROVIDERS[n].simulator_port for n in WITH_SIMULATOR]
    assert len(set(ports)) == len(ports)
    assert len(set(DEFAULT_SOURCES.values())) == len(DEFAULT_SOURCES)


def _api_of(port: Any) -> ApiClient:
    """The ApiClient under a family port: the client's own, or its endpoint client's."""
    for candidate in (port, getattr(port, "client", None)):
        api = getattr(candidate, "api", None)
        if isinstance(api, ApiClient):
            return api
    raise AssertionError(f"{type(port).__name__} exposes no ApiClient as .api or .client.api")


@pytest.mark.parametrize("name", WITH_CLIENT)
@pytest.mark.parametrize(
    ("status", "body"),
    [(503, b"unavailable"), (502, b"<html>bad gateway</html>"), (429, b'{"error": "slow down"}')],
)
async def test_client_error_map_retries_what_every_provider_retries(
    name: str, status: int, body: bytes, settings: HooklineSettings
) -> None:
    """5xx and 429 answers are retryable for every provider's client."""
    port = PROVIDERS[name].client(settings)  # type: ignore[misc]
    try:
        api = _api_of(port)
        error = api.errors.classify(httpx.Response(status, content=body))
        assert isinstance(error, RetryableError), f"{name}: {status} → {error!r}"
    finally:
        await port.aclose()


@pytest.mark.parametrize("name", WITH_CLIENT)
@pytest.mark.parametrize("body", [b"", b"\xff\xfe garbage", b"{", b"[]", b'{"unexpected": true}'])
async def test_client_error_map_never_raises_on_garbage(
    name: str, body: bytes, settings: HooklineSettings
) -> None:
    """An unparseable answer is classified (or passed), never an exception out of the map."""
    port = PROVIDERS[name].client(settings)  # type: ignore[misc]
    try:
        for status in (200, 400, 500):
            error = _api_of(port).errors.classify(httpx.Response(status, content=body))
            assert error is None or isinstance(error, HooklineError)
    finally:
        await port.aclose()


@pytest.mark.parametrize("name", WITH_SIMULATOR)
async def test_simulator_serves_its_admin_api_and_injects_faults(
    name: str, settings: HooklineSettings
) -> None:
    """Each simulator starts under uvicorn, answers /_sim/state, and a registered fault answers."""
    spec = PROVIDERS[name]
    assert spec.simulator is not None
    assert spec.callback_source in settings.sources
    assert settings.sources[spec.callback_source].provider == name
    sim: SimulatorSettings = simulator_settings(settings, name)
    assert sim.port == spec.simulator_port
    app = spec.simulator(settings, sim)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        state = await http.get("/_sim/state")
        assert state.status_code == 200
        assert isinstance(state.json(), dict)
        added = await http.post(
            "/_sim/faults", json={"path": "/sweep/probe", "status": 503, "count": 1}
        )
        assert added.status_code in (200, 201)
        faults = await http.get("/_sim/faults")
        assert any(f.get("path") == "/sweep/probe" for f in _faults(faults.json()))
        faulted = await http.get("/sweep/probe")
        assert faulted.status_code == 503
        assert (await http.post("/_sim/reset")).status_code in (200, 204)


def _faults(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        body = body.get("faults", [])
    return [f for f in body if isinstance(f, dict)]
