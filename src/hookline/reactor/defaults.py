"""The rules hookline ships (README.md#reactor-rules)."""

from __future__ import annotations

from hookline.config.reactor import Rule

_PHONE = {"exists": True}

DEFAULT_RULES: tuple[Rule, ...] = tuple(
    Rule.model_validate(rule)
    for rule in (
        {
            "name": "colt-order-completed-sms",
            "on": "colt.order.state_changed",
            "emit": "sms.send",
            "when": {"data.status": {"eq": "completed"}, "data.technical_contact.phone": _PHONE},
            "args": {
                "to": "{{ data.technical_contact.phone }}",
                "body": "Colt order {{ data.order_id }} is complete. Service {{ data.service_id }} is live.",
                "reference": "colt:{{ data.order_id }}",
            },
        },
        {
            "name": "colt-order-delayed-sms",
            "on": "colt.order.state_changed",
            "emit": "sms.send",
            "when": {"data.status": {"eq": "delayed"}, "data.technical_contact.phone": _PHONE},
            "args": {
                "to": "{{ data.technical_contact.phone }}",
                "body": (
                    'Colt order {{ data.order_id }} is delayed ({{ data.reason | default("no reason given") }}). '
                    'New estimate: {{ data.estimated_completion_date | default("to be confirmed") }}.'
                ),
                "reference": "colt:{{ data.order_id }}",
            },
        },
        {
            "name": "reservation-cancelled-sms",
            "on": "reservation.booking.cancelled",
            "emit": "sms.send",
            "when": {"data.customer.phone": _PHONE},
            "args": {
                "to": "{{ data.customer.phone }}",
                "body": (
                    "Your reservation {{ data.confirmation }} at {{ data.venue.name }} "
                    "on {{ data.date }} was cancelled."
                ),
                "reference": "{{ data.provider }}:{{ data.reservation_id }}",
            },
        },
        {
            "name": "charging-completed-receipt",
            "on": "charging.session.completed",
            "emit": "sms.send",
            "when": {"data.driver.phone": _PHONE},
            "args": {
                "to": "{{ data.driver.phone }}",
                "body": (
                    "Charging complete at {{ data.station_id }}: {{ data.energy_kwh | round(1) }} kWh, "
                    "{{ data.cost.amount | round(2) }} {{ data.cost.currency }}."
                ),
                "reference": "shell_recharge:{{ data.session_id }}",
            },
        },
    )
)
