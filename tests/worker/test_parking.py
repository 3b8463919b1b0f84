"""Retry tier choice and durations."""

from __future__ import annotations

import pytest

from hookline.errors import ConfigError
from hookline.worker.parking import Tiers, parse_duration

TIERS = Tiers.build(["10s", "1m", "10m"], {"10s": "r.10s", "1m": "r.1m", "10m": "r.10m"})


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("10s", 10), ("1m", 60), ("2h", 7200), ("1.5s", 1.5)]
)
def test_durations_parse(text, seconds):
    """Tier names are durations with a unit."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "ten s", "5 minutes", ""])
def test_bad_durations_are_config_errors(text):
    """A tier that is not a duration is a configuration error naming it."""
    with pytest.raises(ConfigError, match="retry tier"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("current", "retry_after", "expected"),
    [
        (None, None, "10s"),  # first failure: the first tier
        ("r.10s", None, "1m"),  # then the next one
        ("r.10m", None, None),  # after the last tier: the DLQ
        (None, 30, "1m"),  # Retry-After 30 s: the smallest tier that covers it
        (None, 3600, "10m"),  # longer than every tier: the last (its due time honours it)
        ("r.1m", 5, "10m"),  # never back to an earlier tier
    ],
)
def test_next_tier(current, retry_after, expected):
    """A retry goes to the next tier that covers the provider's Retry-After, if any is left."""
    tier = TIERS.next(TIERS.of_topic(current) if current else None, retry_after)
    assert (tier.name if tier else None) == expected
