"""The ``sms`` service: send through the best provider, fail over, follow delivery reports."""

# ``worker.create_worker`` is what ``hookline worker sms`` starts; ``service`` holds the work.
__all__ = ["service", "worker"]
