"""What the Reconciliation page and GET /admin/reconcile/open count: the worker's age buckets,
every open entity per provider, the oldest listed; the worker's counters read back."""

from __future__ import annotations

from hookline.admin import reconcile
from hookline.console.pages import duration
from hookline.providers.reconcile import Entity
from hookline.services.reconcile import metrics

NOW = 1_000_000.0


def _entity(provider: str, entity_id: str, age: float, quiet: float | None = None) -> Entity:
    return Entity(
        provider=provider,
        entity_id=entity_id,
        kind="sms.message",
        subject=f"msg-{entity_id}",
        status="sent",
        opened_at=NOW - age,
        last_news_at=NOW - (age if quiet is None else quiet),
        context={"to": "+886912345678"},
        checks=2,
    )


def test_age_buckets_bound_each_age() -> None:
    """An age falls in the first bucket whose bound it does not exceed (the gauge's labels)."""
    expected = {0: "5m", 299.9: "5m", 300: "5m", 301: "1h", 3600: "1h", 86_400: "1d"}
    for age, bucket in {**expected, 86_401: "older", 10**9: "older"}.items():
        assert reconcile.age_bucket(age) == bucket, age
    assert reconcile.age_bucket is metrics.age_bucket


def test_counts_cover_every_entity_and_the_list_the_oldest_of_the_chosen_provider() -> None:
    entities = [
        _entity("twilio", "a", 10),
        _entity("twilio", "b", 4000, quiet=30),
        _entity("every8d", "c", 200_000),
        _entity("twilio", "d", 300),
    ]
    entities[1].checked_at = NOW - 12
    found = reconcile.summarize(entities, NOW, provider="twilio", limit=2)
    assert found.total == 4 and found.matching == 3
    assert found.by_provider == {"every8d": 1, "twilio": 3}
    assert found.by_age == {
        "every8d": {"5m": 0, "1h": 0, "1d": 0, "older": 1},
        "twilio": {"5m": 2, "1h": 0, "1d": 1, "older": 0},
    }
    assert [row.entity_id for row in found.entities] == ["b", "d"]
    oldest = found.as_dict()["entities"][0]
    assert oldest == {
        "provider": "twilio",
        "kind": "sms.message",
        "entity_id": "b",
        "subject": "msg-b",
        "status": "sent",
        "age_seconds": 4000.0,
        "quiet_seconds": 30.0,
        "checks": 2,
        "checked_seconds_ago": 12.0,
    }
    assert found.as_dict()["entities"][1]["checked_seconds_ago"] is None
    assert "+886912345678" not in str(found.as_dict())


def test_counters_read_the_workers_metrics() -> None:
    before = reconcile.counters()
    assert before is not None  # the metrics module is loaded in this process
    metrics.EVENTS.labels("summary-test", "published").inc(2)
    metrics.EVENTS.labels("summary-test", "duplicate").inc()
    metrics.STALE.labels("summary-test").inc()
    metrics.CHECKS.labels("summary-test", "unchanged").inc(5)
    after = reconcile.counters()
    assert after is not None
    assert after.events["summary-test"] == {"published": 2, "duplicate": 1}
    assert after.stale["summary-test"] == 1
    assert after.checks["summary-test"] == {"unchanged": 5}
    assert "summary-test" in after.providers()
    assert after.totals()["published"] - before.totals()["published"] == 2


def test_durations_read_at_a_glance() -> None:
    assert [duration(s) for s in (0, 42.7, 250, 7380, 3 * 86_400 + 4 * 3600 + 5)] == [
        "0 s",
        "42 s",
        "4 min 10 s",
        "2 h 03 min",
        "3 d 4 h",
    ]
