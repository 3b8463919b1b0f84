"""Secret references: ``env:NAME`` and ``file:/path``, resolved at start-up.

A configuration value that is a secret holds a :class:`Secret`. Its reference is
safe to print; its value never is. Plain strings without a prefix are accepted
as inline values for development files, and ``hookline config check`` warns
about them. A ``file:`` secret is read again when the file changes
(:mod:`hookline.config.watch`); the new value replaces the old one as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

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
            value = read_secret_file(name)
        if value == "":
            raise SecretError(f"secret {self.ref} is empty")
        self._value = value
        return value

    def get(self) -> str:
        """The resolved value; resolves on first use when start-up did not."""
        value = self._value  # one read: a rotation swaps the whole string, never half of it
        return value if value is not None else self.resolve()

    @property
    def path(self) -> str | None:
        """The file of a ``file:`` reference (its value can rotate), else None."""
        return self.ref[len("file:") :] if self.ref.startswith("file:") else None

    def rotate(self, value: str) -> None:
        """Use ``value`` from now on (the watcher read the file again)."""
        if not value:
            raise SecretError(f"secret {self.ref} is empty")
        self._value = value

    @classmethod
    def fixed(cls, ref: str, value: str) -> Secret:
        """A secret that shows ``ref`` and holds ``value`` (a previous value kept for a while)."""
        secret = cls(ref)
        secret._value = value
        return secret

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


Credential: TypeAlias = Secret | str
"""A value an outbound flow reads at each use: a :class:`Secret` follows its file, a str is fixed."""


def current(credential: Credential) -> str:
    """The value to use now (read once per request: it may rotate between requests)."""
    return credential.get() if isinstance(credential, Secret) else credential


def read_secret_file(name: str) -> str:
    """A secret file's value without surrounding whitespace; raises :class:`SecretError`."""
    try:
        return Path(name).read_text(encoding="utf-8").strip()
    except FileNotFoundError as exc:
        raise SecretError(f"secret file {name} does not exist") from exc
    except OSError as exc:
        raise SecretError(f"secret file {name} cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise SecretError(f"secret file {name} is not UTF-8 text") from exc


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
