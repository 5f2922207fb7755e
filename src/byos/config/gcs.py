"""GCS settings: the bucket and location rules, the table of every GCS setting and their cross check."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from byos.config.base import CHOICE, COMMON, PATH, SECRET, STR, Setting
from byos.config.rules import MAX_KEY_FILE, ProblemError, check_endpoint, no_path, pattern
from byos.display import shown


def check_gcs_bucket(name: str) -> str:
    """A GCS bucket name as Google allows it."""
    fix = (
        "use 3-63 lowercase letters, digits, '-', '_' or '.' (up to 222 with dots), "
        "starting and ending with a letter or digit"
    )
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*[a-z0-9]", name) or len(name) > 222:
        raise ProblemError(f"{shown(name)} is not a valid GCS bucket name", fix)
    if any(not 1 <= len(part) <= 63 for part in name.split(".")) or len(name) < 3:
        raise ProblemError(f"{shown(name)} has a dot-separated part outside 1-63 characters", fix)
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise ProblemError(f"{shown(name)} looks like an IP address", fix)
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        raise ProblemError(
            f"{shown(name)} starts with 'goog' or contains 'google'", "choose a name without them"
        )
    return name


def upper_location(value: object) -> object:
    """A GCS location as Google writes it (``eu`` is ``EU``); anything but text is left to the type check."""
    return value.strip().upper() if isinstance(value, str) else value


check_gcs_location = pattern(
    r"[A-Z]+[A-Z0-9-]*[A-Z0-9]", "GCS location", "write it like EU, US or EUROPE-WEST1"
)

GCS_SETTINGS: Final[Mapping[str, Setting]] = {
    **COMMON,
    "provider": Setting(CHOICE, "gcs", choices=("gcs",)),
    "bucket": Setting(STR, rules=(check_gcs_bucket,)),
    "location": Setting(STR, before=upper_location, rules=(check_gcs_location,)),
    "endpoint_url": Setting(STR, None, optional=True, rules=(check_endpoint,)),
    "project": Setting(STR, None, optional=True),
    "service_account_file": Setting(PATH, None, optional=True),
    "service_account_email": Setting(STR, None, optional=True),
    "hmac_access_id": Setting(STR, None, optional=True),
    "hmac_secret": Setting(SECRET, None, optional=True),
}
"""Every GCS setting, in the order :class:`~byos.config.GCSDestination` declares them."""


def check_gcs(destination: Any) -> None:  # noqa: ANN401  (a settings class or a quick destination)
    """The cross checks of a GCS destination: endpoint, one way to sign, the key file.

    Raises:
        ProblemError: A check fails (naming the setting).
    """
    no_path(destination.endpoint_url, "GCS")
    if (destination.hmac_access_id is None) != (destination.hmac_secret is None):
        raise ProblemError(
            "must be given together with hmac_access_id", "set both, or neither", "hmac_secret"
        )
    if destination.hmac_access_id is not None and destination.service_account_file is not None:
        raise ProblemError(
            "is set together with an HMAC key",
            "choose one way to sign (remove hmac_* or service_account_file)",
            "service_account_file",
        )
    if destination.service_account_file is not None:
        _check_key_file(destination.service_account_file)
    if destination.service_account_email is not None and not re.fullmatch(
        r"[^@\s]+@[a-z0-9.-]+\.[a-z]+", destination.service_account_email
    ):
        raise ProblemError(
            "is not an email address",
            "write it like name@project.iam.gserviceaccount.com",
            "service_account_email",
        )


def _check_key_file(path: Path) -> None:
    """A service account key file: a regular file of key-file size (a name the system refuses is refused)."""
    fix = "point it at the service account's JSON key file"
    try:
        if not path.is_file():
            found = "is not a regular file" if path.exists() else "does not exist"
            raise ProblemError(f"{shown(str(path))} {found}", fix, "service_account_file")
        size = path.stat().st_size
    except OSError as exc:  # a name too long, a loop of links, no permission
        error = ProblemError(
            f"cannot be read ({exc.strerror or type(exc).__name__})", fix, "service_account_file"
        )
    else:
        if size <= MAX_KEY_FILE:
            return
        error = ProblemError(
            f"is over {MAX_KEY_FILE // 1024} KiB, far larger than a key file", fix, "service_account_file"
        )
    raise error  # outside the handler: the chain would hold the path


def gcs_label(destination: Any) -> str:  # noqa: ANN401
    """``gs://BUCKET/PREFIX``."""
    return f"gs://{destination.bucket}/{destination.prefix}"
