"""Every provider: one folder each, family kits beside them, one registry that lists them.

- :mod:`.base`: what a provider offers (:class:`ProviderSpec`, the :class:`Adapter` contract);
- :mod:`.registry`: ``PROVIDERS``, one line per provider; :mod:`.simulators` reads it for the sandbox;
- ``_sms``, ``_reservation``: what a family of providers shares (the port a service
  talks to, shared sending and normalizing code, the simulator kit).
"""

from hookline.providers.base import Acknowledgement, Adapter, ProviderSpec, RawWebhook, Sample

__all__ = ["Acknowledgement", "Adapter", "ProviderSpec", "RawWebhook", "Sample"]
