"""Secret references: ``env:NAME`` and ``file:/path``, resolved once at start-up.

A configuration value that is a secret holds a :class:`Secret`. Its reference is
safe to print; its value never is. Plain strings without a prefix are accepted
as inline values for development files, and ``hookline config check`` warns
about them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import core_schema

from hookline.errors import SecretError

_PREFIXES = ("env:", "file:")


class Secret:
    """A secret given by reference (or inline); its value is never shown."""

    __slots__ = ("_value", "ref")

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self._value: str | None = None if self.is_reference else ref

    @property
    def is_reference(self) -> bool:
        return self.ref.startswith(_PREFIXES)

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """Read the value behind the reference and keep it; raises :class:`SecretError`."""
        if self._value is not None:
            return self._value
        env = os.environ if environ is None else environ
        kind, _, name = self.ref.partition(":")
        if kind == "env":
            if not name:
                raise SecretError("empty environment variable name in env: reference")
            value = env.get(name)
            if value is None:
                raise SecretError(f"environment variable {name} is not set")
        else:
            path = Path(name)
            try:
                value = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError as exc:
                raise SecretError(f"secret file {name} does not exist") from exc
            except OSError as exc:
                raise SecretError(f"secret file {name} cannot be read ({exc.strerror})") from exc
        if value == "":
            raise SecretError(f"secret {self.ref} is empty")
        self._value = value
        return value

    def get(self) -> str:
        """The resolved value; resolves on first use when start-up did not."""
        return self._value if self._value is not None else self.resolve()

    def __repr__(self) -> str:
        return f"Secret({self.ref!r})" if self.is_reference else "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(self.ref)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value:
                raise ValueError("a secret must be a non-empty string (env:NAME or file:/path)")
            return cls(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda s: s.ref if s.is_reference else "**********"
            ),
        )


def iter_secrets(obj: Any, path: str = "") -> Iterator[tuple[str, Secret]]:
    """Every :class:`Secret` inside a settings tree, with its dotted path."""
    if isinstance(obj, Secret):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_secrets(getattr(obj, name), f"{path}.{name}" if path else name)
        extra = obj.__pydantic_extra__ or {}
        for name, value in extra.items():
            yield from iter_secrets(value, f"{path}.{name}" if path else name)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from iter_secrets(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, (list, tuple)):
        for index, value in enumerate(obj):
            yield from iter_secrets(value, f"{path}[{index}]")
