"""The contract every reservation platform's webhook adapter meets; each provider's test module subclasses it.

A subclass sets ``adapter``, ``source``, ``id_of`` (where the provider event id
lives) and ``expected`` (sample name → (CloudEvent type, subject)).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from hookline.envelope import CloudEvent
from hookline.errors import NormalizationError
from hookline.providers.base import Adapter, RawWebhook, Sample
from hookline.signatures.base import Headers

RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)


def raw(
    source: str, provider: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> RawWebhook:
    encoded = json.dumps(body).encode()
    return RawWebhook(
        source=source,
        provider=provider,
        body=encoded,
        content_type="application/json",
        headers=Headers(headers or {}),
        query={},
        received_at=RECEIVED,
        payload=json.loads(encoded),
    )


class AdapterContract:
    adapter: ClassVar[Adapter]
    source: ClassVar[str]
    samples: ClassVar[Callable[[], tuple[Sample, ...]]]
    expected: ClassVar[dict[str, tuple[str, str]]]
    # The provider event id of a body: from a header (OpenTable) or the body.
    id_header: ClassVar[str | None] = None
    id_field: ClassVar[str] = "id"

    def deliver(
        self, body: dict[str, Any], event_id: str | None = "evt_test_1"
    ) -> list[CloudEvent]:
        headers = {}
        if self.id_header and event_id is not None:
            headers[self.id_header] = event_id
        elif event_id is not None:
            body = {**body, self.id_field: event_id}
        else:
            body = {k: v for k, v in body.items() if k != self.id_field}
        return self.adapter.normalize(raw(self.source, self.adapter.provider, body, headers))

    def sample(self, name: str) -> dict[str, Any]:
        found = {s.name: s for s in type(self).samples()}
        body: dict[str, Any] = json.loads(found[name].body)
        return body

    def test_every_sample_becomes_its_normalized_type(self) -> None:
        """Each shipped sample normalizes to one event of the expected type, keyed by its entity."""
        names = {s.name for s in type(self).samples()}
        assert names == set(self.expected)
        for name, (type_, subject) in self.expected.items():
            [event] = self.deliver(self.sample(name))
            assert event.type == type_, name
            assert event.subject == event.partitionkey == subject, name
            assert event.dataschema == f"urn:hookline:schema:{type_}"
            assert event.provider == self.adapter.provider
            assert event.source == f"/hookline/sources/{self.source}"

    def test_event_id_is_deterministic_per_provider_event(self) -> None:
        """The same delivery normalizes to the same id (uuid5 of source/provider event id); another does not."""
        body = self.sample(next(iter(self.expected)))
        [first] = self.deliver(body, "evt_same")
        [again] = self.deliver(body, "evt_same")
        [other] = self.deliver(body, "evt_other")
        assert first.id == again.id != other.id
        assert first.id == str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"/hookline/sources/{self.source}/evt_same")
        )
        assert first.providereventid == "evt_same"

    def test_event_time_is_the_providers(self) -> None:
        """``time`` is the provider's event time, not the receive time."""
        [event] = self.deliver(self.sample(next(iter(self.expected))))
        assert event.time != RECEIVED
        assert event.time.year < 2030

    def test_missing_event_id_is_refused(self) -> None:
        """Without a provider event id there is no dedup key: NormalizationError (kept in dlq.ingress)."""
        with pytest.raises(NormalizationError):
            self.deliver(self.sample(next(iter(self.expected))), event_id=None)

    @pytest.mark.parametrize("kind", ["reservation.exploded", "session.teleported", "", 42, None])
    def test_unknown_event_type_is_refused(self, kind: Any) -> None:
        """An event type outside the contract is a NormalizationError, never a guessed event."""
        body = self.sample(next(iter(self.expected)))
        body[self.type_field] = kind
        with pytest.raises(NormalizationError):
            self.deliver(body)

    type_field: ClassVar[str] = "type"

    def test_data_validates_against_the_published_model(self) -> None:
        """Every normalized ``data`` validates against the model its type is registered with."""
        from hookline.messages import all_types

        types = all_types()
        for name in self.expected:
            [event] = self.deliver(self.sample(name))
            types[event.type].model.model_validate(event.data)
