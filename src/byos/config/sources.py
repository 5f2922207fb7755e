"""Where settings come from: a TOML file, then ``BYOS_*`` variables, then ``.env``, merged (no pydantic).

Both loaders share this: the settings classes (:mod:`byos.config.loading`) and the presign fast path
(:mod:`byos.config.quick`) get the same values, the same provider and the same errors for what is missing,
unknown or unreadable.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from byos.config.azure import AZURE_SETTINGS
from byos.config.base import LIST, Setting
from byos.config.gcs import GCS_SETTINGS
from byos.config.rules import MAX_CONFIG_BYTES, ProblemError
from byos.config.s3 import S3_SETTINGS
from byos.config_env import ENV_PREFIX, environment_values, read_env_file
from byos.display import clean, shown
from byos.errors import ConfigError

TABLES: Final[Mapping[str, Mapping[str, Setting]]] = {
    "s3": S3_SETTINGS,
    "gcs": GCS_SETTINGS,
    "azure": AZURE_SETTINGS,
}
"""The rule table of each provider."""


def gather(
    data: Mapping[str, Any], *, env: bool, env_file: str | Path | None, source: str
) -> tuple[str, dict[str, Any]]:
    """The provider and the raw values of a destination: ``data`` first, then the environment.

    Raises:
        ConfigError: The provider is missing or unknown, a setting is unknown (with a guess at the one meant),
            or the environment cannot be read.
    """
    provider = data.get("provider")
    if provider is None and env:
        try:
            provider = env_value("provider", env_file)
        except (OSError, UnicodeDecodeError) as exc:
            env_error: ConfigError | None = env_file_error(env_file, exc)
        else:
            env_error = None
        if env_error is not None:
            raise env_error
    if provider is None:
        raise ConfigError("provider", "is missing", f"set provider to one of {', '.join(TABLES)} in {source}")
    name = str(provider).strip().lower()
    table = TABLES.get(name)
    if table is None:
        raise ConfigError(
            "provider", f"{shown(provider)} is not supported", f"use one of {', '.join(TABLES)}"
        )
    unknown = sorted(set(data) - set(table))
    if unknown:
        import difflib  # noqa: PLC0415  (only a misspelt setting needs it)

        guess = difflib.get_close_matches(unknown[0], list(table), n=1)
        hint = f"did you mean {guess[0]}?" if guess else f"remove it from {source}"
        raise ConfigError(unknown[0], f"is not a setting of provider {name}", hint)
    values = {**data, "provider": name}
    if not env:
        return name, values
    lists = {field for field, setting in table.items() if setting.kind == LIST}
    try:  # given values win over BYOS_* variables, which win over the env file
        return name, {**environment_values(table, env_file, lists=lists), **values}
    except ConfigError as exc:  # a list setting's variable that is not JSON
        error = ConfigError(exc.field, exc.problem, exc.fix)
    except (OSError, UnicodeDecodeError) as exc:
        error = env_file_error(env_file, exc)
    raise error  # outside the handlers, so no __context__ keeps the raw values (secrets among them)


def read_toml(file: Path) -> dict[str, Any]:
    """Parse a TOML file; every failure is a ConfigError without the file's text in its chain.

    Raises:
        ConfigError: The file is missing, unreadable, too large, not UTF-8 or not TOML.
    """
    name = clean(str(file))
    try:
        return tomllib.loads(_read_text(file))
    except FileNotFoundError:
        error = ConfigError(name, "does not exist", "pass the path of a destination TOML file")
    except UnicodeDecodeError as exc:
        error = ConfigError(name, f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8")
    except OSError as exc:
        error = ConfigError(name, f"cannot be read ({exc.strerror or type(exc).__name__})", "check the file")
    except ProblemError as exc:
        error = ConfigError(name, exc.problem, exc.fix)
    except tomllib.TOMLDecodeError as exc:
        error = ConfigError(name, f"is not valid TOML ({clean(str(exc))})", "fix the syntax")
    except RecursionError:
        error = ConfigError(name, "is nested too deeply", "fix the file")
    except ValueError:  # a path with a NUL byte
        error = ConfigError("path", "is not a valid file name", "pass the path of a destination TOML file")
    raise error


def _read_text(file: Path) -> str:
    """A regular file's text, at most ``MAX_CONFIG_BYTES`` (a device or FIFO would never end)."""
    if file.exists() and not file.is_file():
        raise ProblemError("is not a regular file", "pass the path of a destination TOML file")
    with file.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ProblemError(
            f"is over {MAX_CONFIG_BYTES // 1024} KiB", "a destination's settings are far smaller"
        )
    return data.decode("utf-8")


def file_values(path: str | Path) -> tuple[dict[str, Any], str]:
    """A destination file's values (``name`` defaulting to the file's stem) and the file's name for errors.

    Raises:
        ConfigError: The file cannot be read or parsed.
    """
    file = Path(path)
    data = read_toml(file)
    data.setdefault("name", file.stem)
    return data, file.name


def env_value(name: str, env_file: str | Path | None) -> str | None:
    """The value ``BYOS_NAME`` has in the environment, or else in ``env_file`` (None: unset)."""
    import os  # noqa: PLC0415

    value = os.environ.get(ENV_PREFIX + name.upper())
    if value is None and env_file is not None and Path(env_file).is_file():
        for key, found in read_env_file(env_file).items():
            if key.upper() == ENV_PREFIX + name.upper():
                value = found
    return value


def env_file_error(env_file: str | Path | None, exc: OSError | UnicodeDecodeError) -> ConfigError:
    """The one-line error for an env file that cannot be read."""
    name = clean(str(env_file or ".env"))
    if isinstance(exc, UnicodeDecodeError):
        return ConfigError(name, f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8")
    return ConfigError(name, f"cannot be read ({exc.strerror or type(exc).__name__})", "check the file")


def missing(field: str) -> ConfigError:
    """The error for a required setting nobody gave."""
    env_name = ENV_PREFIX + field.split(".", maxsplit=1)[0].upper()
    return ConfigError(field, "is required", f"set it in the config file or as {env_name}")
