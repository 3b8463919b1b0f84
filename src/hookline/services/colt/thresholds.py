"""The monitoring thresholds (the guide: 90 % peak utilization, 99.9 % availability).

Defaults come from ``services.colt`` in the configuration
(``utilization_threshold_percent``, ``availability_threshold_percent``); a
command may override them for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookline.errors import ConfigError
from hookline.messages.colt import (
    DEFAULT_AVAILABILITY_THRESHOLD,
    DEFAULT_UTILIZATION_THRESHOLD,
    AvailabilityLow,
    ServiceCheckUsage,
    UsageReported,
    UtilizationHigh,
)


@dataclass(frozen=True)
class Thresholds:
    utilization_percent: float = DEFAULT_UTILIZATION_THRESHOLD
    availability_percent: float = DEFAULT_AVAILABILITY_THRESHOLD

    @classmethod
    def from_config(cls, service: dict[str, Any]) -> Thresholds:
        try:
            return cls(
                float(service.get("utilization_threshold_percent", DEFAULT_UTILIZATION_THRESHOLD)),
                float(
                    service.get("availability_threshold_percent", DEFAULT_AVAILABILITY_THRESHOLD)
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"services.colt thresholds must be numbers: {exc}") from exc

    def for_command(self, command: ServiceCheckUsage) -> Thresholds:
        return Thresholds(
            command.utilization_threshold_percent or self.utilization_percent,
            command.availability_threshold_percent or self.availability_percent,
        )


def latest_usage(service_id: str, body: dict[str, Any], command_id: str) -> UsageReported:
    """The last period of a usage answer (Colt sorts ``usage[]`` ascending)."""
    periods = body.get("usage") or []
    last = periods[-1] if periods and isinstance(periods[-1], dict) else {}
    metrics = last.get("metrics") or {}

    def num(name: str) -> float | None:
        value = metrics.get(name)
        return float(value) if isinstance(value, (int, float)) else None

    return UsageReported(
        command_id=command_id,
        service_id=service_id,
        granularity=str(body.get("granularity", "")),
        period_start=last.get("periodStart"),
        period_end=last.get("periodEnd"),
        peak_utilization_percent=num("peakUtilizationPercent"),
        availability_percent=num("availabilityPercent"),
        average_utilization_percent=num("averageUtilizationPercent"),
    )


def breaches(
    usage: UsageReported, limits: Thresholds
) -> list[tuple[str, UtilizationHigh | AvailabilityLow]]:
    """The threshold events the latest period calls for (origin ``poll``)."""
    out: list[tuple[str, UtilizationHigh | AvailabilityLow]] = []
    peak, availability = usage.peak_utilization_percent, usage.availability_percent
    if peak is not None and peak > limits.utilization_percent:
        out.append(
            (
                "colt.service.utilization_high",
                UtilizationHigh(
                    service_id=usage.service_id,
                    peak_utilization_percent=peak,
                    threshold_percent=limits.utilization_percent,
                    period_start=usage.period_start,
                    period_end=usage.period_end,
                    origin="poll",
                    command_id=usage.command_id,
                ),
            )
        )
    if availability is not None and availability < limits.availability_percent:
        out.append(
            (
                "colt.service.availability_low",
                AvailabilityLow(
                    service_id=usage.service_id,
                    availability_percent=availability,
                    threshold_percent=limits.availability_percent,
                    period_start=usage.period_start,
                    period_end=usage.period_end,
                    origin="poll",
                    command_id=usage.command_id,
                ),
            )
        )
    return out
