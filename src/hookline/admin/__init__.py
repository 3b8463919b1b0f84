"""The operator's operations, one implementation for three clients (docs/console.md).

The ``/admin/*`` JSON endpoints, the console pages and the ``hookline``
commands call these functions; none of them reads Kafka or changes state on
its own.
"""

__all__ = [
    "dead_letters",
    "events",
    "operations",
    "overview",
    "reading",
    "reconcile",
    "rejected",
    "tally",
]
