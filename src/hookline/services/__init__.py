"""The application layer: what hookline does with the providers.

One package per service (``sms``, ``colt``, ``reservation``): its handlers,
routing, state and the worker factory ``hookline worker NAME`` starts. A
service uses providers through their registry specs and family kits
(:mod:`hookline.providers`); nothing below this layer imports it.
"""

# One package per service; each offers ``worker.create_worker`` to ``hookline worker``.
__all__ = ["colt", "reservation", "sms"]
