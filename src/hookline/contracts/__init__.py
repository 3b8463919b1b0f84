"""The contracts downstream teams read: JSON Schemas per type and an AsyncAPI document."""

# Modules, imported on use: ``openapi`` (the ingress's HTTP surface), ``asyncapi``
# and ``jsonschemas`` (the topics' documents), ``export`` (``hookline schemas export``).
__all__ = ["asyncapi", "export", "jsonschemas", "openapi"]
