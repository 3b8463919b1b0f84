"""The contracts downstream teams read: JSON Schemas per type and an AsyncAPI document."""
