"""What every provider's policy shares: section wording, placeholders, origin and metadata-name checks."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from byos.config import Origin
from byos.errors import InvalidInputError
from byos.policy.document import PolicyDocuments, Section
from byos.prepared import ORIGINAL_FILENAME

if TYPE_CHECKING:
    from byos.config import Destination

__all__ = [
    "BUCKET_POLICY",
    "CHECK_STEP",
    "CORS_MAX_AGE_SECONDS",
    "CORS_RULES",
    "IAM_POLICY",
    "ORIGINAL_FILENAME",
    "WRITE_PERMISSION",
    "Placeholders",
    "check_metadata_names",
    "check_origins",
    "common_notes",
    "origin_list",
    "origins_or_placeholder",
    "policy_documents",
    "shell_quote",
    "shown",
]

CORS_MAX_AGE_SECONDS = 3600
"""How long browsers may cache a preflight answer."""

WRITE_PERMISSION = "write permission"
IAM_POLICY = "IAM policy"
CORS_RULES = "CORS rules"
BUCKET_POLICY = "Bucket policy (optional: HTTPS only, write-once enforced)"
"""Wording of section titles that the setup checker's remediation text points at."""

CHECK_STEP = (
    "Run `byos check --config <destination file>`: every check should pass. A failing check names the "
    "section of this page to apply again."
)


_METADATA_NAME = re.compile(r"[a-z0-9-]{1,64}")
_ORIGINS = TypeAdapter(Origin)


class Placeholders:
    """Hands out ``<NAME>`` markers and remembers what each one stands for."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def __call__(self, name: str, meaning: str) -> str:
        """Return the marker ``<name>``, remembering that it stands for ``meaning``."""
        marker = f"<{name}>"
        self.used[marker] = meaning
        return marker


def check_origins(origins: Sequence[str]) -> list[str] | None:
    """Normalise browser origins as the destination's ``origins`` setting does (None when there are none)."""
    if isinstance(origins, str):
        origins = [origins]
    checked: list[str] = []
    for origin in origins:
        try:
            normal = _ORIGINS.validate_python(origin)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            cause = error.get("ctx", {}).get("error")
            problem = getattr(cause, "problem", None) or f"{origin!r} is not an origin"
            fix = getattr(cause, "fix", None) or "write scheme://host[:port], like https://app.example.com"
            raise InvalidInputError("origins", problem, fix) from None
        if normal not in checked:
            checked.append(normal)
    return checked or None


def check_metadata_names(names: Sequence[str]) -> list[str]:
    """Lower-case metadata names, each once, without the original file name every upload carries anyway."""
    checked: list[str] = []
    for name in names:
        lowered = name.lower()
        if not _METADATA_NAME.fullmatch(lowered):
            raise InvalidInputError(
                "metadata_names", f"{name!r} is not a metadata name", "use letters, digits and '-'"
            )
        if lowered != ORIGINAL_FILENAME and lowered not in checked:
            checked.append(lowered)
    return checked


def origins_or_placeholder(origins: list[str] | None, ph: Placeholders) -> list[str]:
    """The origins for a CORS rule, or the ``<BROWSER_ORIGIN>`` placeholder when none is known."""
    if origins:
        return list(origins)
    return [
        ph(
            "BROWSER_ORIGIN",
            "the web app's origin, like https://app.example.com (or pass --origin, or set origins in the "
            "destination)",
        )
    ]


def origin_list(origins: list[str] | None) -> str:
    """The origins as the onboarding steps name them."""
    return ", ".join(origins) if origins else "the web app's origin"


def shown(prefix: str) -> str:
    """The prefix as the section texts name it (the whole bucket when it is empty)."""
    return f"the prefix {prefix}" if prefix else "the whole bucket (no prefix is configured)"


def common_notes(prefix: str) -> list[str]:
    """Notes every provider adds: a warning when no prefix confines the write permission."""
    if prefix:
        return []
    return [
        (
            "No prefix is configured, so the write permission covers the whole bucket; set prefix in the "
            "destination to confine uploads to one folder."
        )
    ]


def shell_quote(value: str) -> str:
    """Quote ``value`` for the POSIX shell commands the policy prints."""
    return shlex.quote(value)


def policy_documents(
    dest: Destination,
    *,
    documents: dict[str, Any],
    sections: tuple[Section, ...],
    steps: tuple[str, ...],
    ph: Placeholders,
    notes: list[str],
) -> PolicyDocuments:
    """Assemble the provider's documents, sections, steps, used placeholders and notes."""
    return PolicyDocuments(
        provider=dest.provider,
        destination=dest.label,
        documents=MappingProxyType(documents),
        sections=sections,
        steps=steps,
        placeholders=MappingProxyType(dict(ph.used)),
        notes=tuple(notes),
    )
