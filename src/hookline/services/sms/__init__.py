"""The ``sms`` service: send through the best provider, fail over, follow delivery reports."""
