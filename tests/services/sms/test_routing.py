"""Which providers carry a message and in which order (docs/sms.md#failover-rules-in-plain-words)."""

from __future__ import annotations

from hookline.services.sms.routing import ProviderHealth, order
from hookline.services.sms.success import SuccessTracker

PRIORITY = ["every8d", "mitake", "twilio"]
TW_ONLY = ["every8d", "mitake"]
ALL = set(PRIORITY)


def test_taiwan_numbers_use_the_priority_list() -> None:
    """+886 numbers go Every8d → Mitake → Twilio."""
    route = order("+886912345678", priority=PRIORITY, taiwan_only=TW_ONLY, configured=ALL)
    assert route.providers == ["every8d", "mitake", "twilio"]


def test_other_countries_only_use_international_providers() -> None:
    """Numbers outside Taiwan go through Twilio only."""
    route = order("+14155550123", priority=PRIORITY, taiwan_only=TW_ONLY, configured=ALL)
    assert route.providers == ["twilio"]


def test_preferred_provider_goes_first_when_eligible() -> None:
    """The command's preferred provider is tried first, but never outside its countries."""
    tw = order(
        "+886912345678", priority=PRIORITY, taiwan_only=TW_ONLY, configured=ALL, preferred="twilio"
    )
    assert tw.providers == ["twilio", "every8d", "mitake"]
    us = order(
        "+14155550123", priority=PRIORITY, taiwan_only=TW_ONLY, configured=ALL, preferred="mitake"
    )
    assert us.providers == ["twilio"]


def test_open_breaker_and_full_limiter_are_skipped_but_reported_as_blocked() -> None:
    """A provider with an open breaker or a full limiter is skipped now and listed as blocked."""
    health = {"every8d": ProviderHealth(breaker_open=True), "mitake": ProviderHealth(admits=False)}
    route = order(
        "+886912345678",
        priority=PRIORITY,
        taiwan_only=TW_ONLY,
        configured=ALL,
        health=lambda p: health.get(p, ProviderHealth()),
    )
    assert route.providers == ["twilio"]
    assert route.blocked == ["every8d", "mitake"]


def test_unhealthy_provider_moves_to_the_end_and_tried_ones_are_dropped() -> None:
    """A low success rate moves a provider last; providers already tried are not offered again."""
    route = order(
        "+886912345678",
        priority=PRIORITY,
        taiwan_only=TW_ONLY,
        configured=ALL,
        tried={"mitake"},
        health=lambda p: ProviderHealth(healthy=p != "every8d"),
    )
    assert route.providers == ["twilio", "every8d"]


def test_unconfigured_providers_are_not_offered() -> None:
    """Only providers with client configuration are routed to."""
    route = order("+886912345678", priority=PRIORITY, taiwan_only=TW_ONLY, configured={"mitake"})
    assert route.providers == ["mitake"]


def test_success_rate_needs_enough_samples_and_expires() -> None:
    """The success rate is trusted only above the sample floor and forgets old outcomes."""
    now = [0.0]
    tracker = SuccessTracker(900, threshold=0.8, min_samples=5, clock=lambda: now[0])
    for _ in range(4):
        tracker.record("every8d", ok=False)
    assert tracker.rate("every8d") is None and tracker.healthy("every8d")
    tracker.record("every8d", ok=True)
    assert tracker.rate("every8d") == 0.2 and not tracker.healthy("every8d")
    now[0] = 901.0
    assert tracker.rate("every8d") is None and tracker.healthy("every8d")


def test_success_rate_forgets_expired_successes() -> None:
    """Successes that left the window stop counting: only the failures after them are left."""
    now = [0.0]
    tracker = SuccessTracker(900, threshold=0.8, min_samples=5, clock=lambda: now[0])
    for _ in range(5):
        tracker.record("mitake", ok=True)
    now[0] = 500.0
    for _ in range(5):
        tracker.record("mitake", ok=False)
    assert tracker.rate("mitake") == 0.5
    now[0] = 901.0
    assert tracker.rate("mitake") == 0.0 and not tracker.healthy("mitake")
    tracker.record("mitake", ok=True)
    assert tracker.rate("mitake") == 1 / 6
