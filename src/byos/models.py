"""Frozen value types that byos returns: upload requests, multipart plans, check results, reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from byos.option_types import check_upload_options
from byos.redaction import REDACTED, redact_url

__all__ = ["REDACTED", "CheckResult", "Report", "Status", "UploadOptions", "UploadRequest", "redact_url"]


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """A presigned request a browser (or any HTTP client) sends to write exactly one object.

    Attributes:
        provider: ``"s3"``, ``"gcs"`` or ``"azure"``.
        method: HTTP method: ``PUT`` or ``POST``.
        url: The presigned URL. A bearer token: ``repr`` shows it redacted.
        headers: Headers the client MUST send exactly as given (they are signed).
        fields: Form fields for a POST upload, in order; the file goes last. Empty for PUT.
        key: The object key (blob name) that will be written.
        expires_at: When the request stops working (timezone-aware UTC).
    """

    provider: str
    method: str
    url: str = field(repr=False)
    headers: Mapping[str, str]
    fields: Mapping[str, str]
    key: str
    expires_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen(self.headers))
        object.__setattr__(self, "fields", _frozen(self.fields))

    def __repr__(self) -> str:
        return (
            f"UploadRequest(provider={self.provider!r}, method={self.method!r}, "
            f"url={redact_url(self.url)!r}, headers={dict(self.headers)!r}, "
            f"fields=<{len(self.fields)} fields>, key={self.key!r}, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the CLI contract (provider, method, url, headers, fields, key, …)."""
        return {
            "provider": self.provider,
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "fields": dict(self.fields),
            "key": self.key,
            "expires_at": _iso(self.expires_at),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadOptions:
    """What a caller asks of one presigned upload. Every option is signed, so a client that deviates fails.

    Attributes:
        filename: The untrusted name the user gave the file (sanitised into the key; kept in metadata).
        content_type: Lock the ``Content-Type`` of the upload.
        content_length: Lock the exact size in bytes (PUT).
        min_bytes: Smallest size accepted (POST policy, GCS length range).
        max_bytes: Largest size accepted (POST policy, GCS length range); defaults to the destination's
            ``max_upload_bytes``.
        checksum_sha256: Base64 SHA-256 of the body, when the caller knows it.
        content_md5: Base64 MD5 of the body, when the caller knows it.
        overwrite: False (default) makes the upload write-once: it can never replace an existing object.
        expires: Lifetime of the request; the destination's ``expires`` when None.
        method: ``PUT`` (default) or ``POST`` (browser form upload).
        upload_id: UUID of this upload (new when None); part of the key.
        import_id: The caller's import id, for key templates that use it.
        metadata: Extra object metadata (names of letters, digits and ``-``).
        now: The signing time (UTC now when None); pass it to freeze the clock.
        probe: Write a setup-check probe: the key is a fresh name in the destination's reserved probe folder.
        kind: ``raw`` (the customer's file, ``raw_key_template``) or ``result`` (the cleaned result of
            ``import_id``, ``result_key_template``).
    """

    filename: str
    content_type: str | None = None
    content_length: int | None = None
    min_bytes: int | None = None
    max_bytes: int | None = None
    checksum_sha256: str | None = None
    content_md5: str | None = None
    overwrite: bool = False
    expires: timedelta | None = None
    method: Literal["PUT", "POST"] = "PUT"
    upload_id: str | None = None
    import_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    now: datetime | None = None
    probe: bool = False
    kind: Literal["raw", "result"] = "raw"

    def __post_init__(self) -> None:
        for name, value in check_upload_options(self).items():
            object.__setattr__(self, name, value)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Status(StrEnum):
    """Outcome of one setup check."""

    PASS = "pass"  # noqa: S105  (a check status, not a password)
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The result of one setup check."""

    id: str
    status: Status
    message: str
    remediation: str = ""
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by ``byos check --json``."""
        return {
            "id": self.id,
            "status": self.status.value,
            "message": self.message,
            "remediation": self.remediation,
            "duration_ms": round(self.duration_ms, 1),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """All check results for one destination."""

    destination: str
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(c.status is not Status.FAIL for c in self.checks)

    @property
    def strict_ok(self) -> bool:
        """True when no check failed or warned."""
        return all(c.status in (Status.PASS, Status.SKIP) for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by ``byos check --json``."""
        return {"destination": self.destination, "ok": self.ok, "checks": [c.to_dict() for c in self.checks]}
