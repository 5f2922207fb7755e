"""Loading destinations into the settings classes: from a mapping, a TOML file or a folder of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from byos.config.rules import config_error
from byos.config.settings import PROVIDERS, Destination
from byos.config.sources import file_values, gather, missing
from byos.display import clip
from byos.errors import ConfigError


def destination_from_dict(
    data: dict[str, Any], *, env: bool = True, env_file: str | Path | None = ".env", source: str = "config"
) -> Destination:
    """Build a destination from a mapping (for example a parsed TOML file).

    Values in ``data`` win; ``BYOS_*`` environment variables and ``env_file`` fill the settings it leaves out
    (when ``env`` is true), so secrets can stay out of files.

    Raises:
        ConfigError: a setting is missing or invalid; the message names it and says how to fix it.
    """
    provider, values = gather(data, env=env, env_file=env_file, source=source)
    try:
        return PROVIDERS[provider](**values)
    except ValidationError as exc:
        error = _to_config_error(exc)
    # Raised outside the handler, so no __context__ keeps the raw values (secrets among them).
    raise error


def load_destination(
    path: str | Path | None = None, *, env: bool = True, env_file: str | Path | None = ".env"
) -> Destination:
    """Load one destination from a TOML file, or from the environment alone when ``path`` is None.

    Raises:
        ConfigError: the file cannot be read or a setting is invalid.
    """
    if path is None:
        return destination_from_dict({}, env=env, env_file=env_file, source="the environment")
    data, source = file_values(path)
    return destination_from_dict(data, env=env, env_file=env_file, source=source)


def load_fleet(folder: str | Path, *, env: bool = False) -> list[tuple[Path, Destination | ConfigError]]:
    """Load every ``*.toml`` destination in ``folder``, sorted by name; a bad file yields its error.

    The environment is not consulted by default: a fleet's files must be complete on their own.
    """
    directory = Path(folder)
    if not directory.is_dir():
        raise ConfigError(str(directory), "is not a folder", "pass a folder of destination TOML files")
    loaded: list[tuple[Path, Destination | ConfigError]] = []
    for file in sorted(directory.glob("*.toml")):
        try:
            loaded.append((file, load_destination(file, env=env, env_file=None)))
        except ConfigError as exc:
            loaded.append((file, exc))
    return loaded


def _to_config_error(exc: ValidationError) -> ConfigError:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "settings"
    if error["type"] == "missing":
        return missing(field)
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return config_error(field, cause)
    return ConfigError(
        field, clip(error["msg"].removeprefix("Value error, ")), "fix the value in the config file"
    )
