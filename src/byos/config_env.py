"""``BYOS_*`` environment variables and the ``.env`` file as a source of destination settings.

What pydantic-settings did for the destination classes, in a few lines and without its import cost (it loads
asyncio, ssl and concurrent.futures, about 100 ms of a command's start): names are ``BYOS_`` plus the setting
in any case; a variable wins over the same name in ``.env``; list settings are JSON; unknown names are
ignored. python-dotenv parses the file, and is imported only when the file exists.
"""

from __future__ import annotations

import json
import os
import types
import typing
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from byos.errors import ConfigError

ENV_PREFIX = "BYOS_"

__all__ = ["ENV_PREFIX", "environment_values", "read_env_file"]


def environment_values(
    fields: Mapping[str, Any], env_file: str | Path | None, *, lists: Collection[str] | None = None
) -> dict[str, Any]:
    """Return the settings ``BYOS_*`` variables and ``env_file`` give for ``fields``.

    Args:
        fields: The settings, by name (pydantic FieldInfo, or any value when ``lists`` is given).
        env_file: A ``.env`` file read when it exists (None: none).
        lists: The settings whose values are JSON lists (None: those whose FieldInfo annotation is a list).

    Raises:
        ConfigError: A list setting whose value is not a JSON list.
        OSError: The env file cannot be read.
        UnicodeDecodeError: The env file is not UTF-8.
    """
    wanted = {ENV_PREFIX.lower() + name: name for name in fields}
    found: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        for key, value in read_env_file(env_file).items():
            name = wanted.get(key.lower())
            if name is not None and value is not None:
                found[name] = value
    for key, value in os.environ.items():
        name = wanted.get(key.lower())
        if name is not None:
            found[name] = value
    values: dict[str, Any] = {}
    for name, value in found.items():
        if not (name in lists if lists is not None else _is_complex(fields[name].annotation)):
            values[name] = value
            continue
        try:
            values[name] = json.loads(value)
        except ValueError:
            error = _not_json(name)
        else:
            continue
        raise error  # outside the handler: the chain would hold the value
    return values


def read_env_file(env_file: str | Path) -> dict[str, str | None]:
    """Parse a ``.env`` file (UTF-8) with python-dotenv.

    Raises:
        OSError: The file cannot be read.
        UnicodeDecodeError: The file is not UTF-8.
    """
    from dotenv import dotenv_values  # noqa: PLC0415  (only when a .env file exists)

    return dict(dotenv_values(env_file, encoding="utf-8"))


def _not_json(field: str) -> ConfigError:
    env_name = ENV_PREFIX + field.upper()
    return ConfigError(
        field,
        f"from {env_name} is not a JSON list",
        f"write it like {env_name}='[\"https://app.example.com\"]'",
    )


def _is_complex(annotation: object) -> bool:
    """Whether a setting's values come as JSON (lists, sets, tuples, mappings), as in pydantic-settings."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_complex(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_complex(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return origin in (list, set, frozenset, tuple, dict)
