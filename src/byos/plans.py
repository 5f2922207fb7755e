"""The upload plan: one JSON shape for every provider and size, sent step by step by a browser or a server.

A plan is a list of plain HTTP requests (:class:`Step`): the parts, in order, then ``complete`` once every
part succeeded, or ``abort`` on failure. The shape is the contract between :func:`byos.presign_upload` and
any client (``byos-upload.js``, :func:`byos.upload_file`); see the README's "Uploads of any size".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from byos.models import UploadRequest
from byos.redaction import redact_url

Body = Literal["file", "range", "empty", "s3-complete", "azure-block-list"]
Collect = Literal["etag", "session"]
Kind = Literal["raw", "result"]


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One HTTP request of a plan.

    Attributes:
        method: ``PUT``, ``POST`` or ``DELETE``.
        url: The presigned URL (a bearer token: ``repr`` redacts it); None when ``url_from`` is set.
        url_from: ``"session"``: send to the session URI an earlier step collected (GCS resumable).
        headers: Send exactly these headers (they are signed, or the service checks them).
        fields: S3 POST policy form fields in order (the file goes last), or None.
        body: What to send: the whole ``file``, a byte ``range`` of it, nothing (``empty``), or a completion
            body the client builds (``s3-complete``, ``azure-block-list``).
        range: ``(start, end_exclusive)`` for body ``range``.
        part_number: The S3 part number (1-based).
        block_id: The Azure block id (base64, all of one length).
        expect: Statuses that mean success.
        collect: Remember the answer's ``ETag`` (``etag``) or ``Location`` (``session``) header.
    """

    method: str
    url: str | None = field(repr=False)
    url_from: Literal["session"] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[tuple[str, str], ...] | None = None
    body: Body = "file"
    range: tuple[int, int] | None = None
    part_number: int | None = None
    block_id: str | None = None
    expect: tuple[int, ...] = (200,)
    collect: Collect | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen(self.headers))

    def __repr__(self) -> str:
        shown = redact_url(self.url) if self.url is not None else None
        return (
            f"Step(method={self.method!r}, url={shown!r}, url_from={self.url_from!r}, body={self.body!r}, "
            f"range={self.range!r}, part_number={self.part_number!r}, expect={self.expect!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the step's JSON form (see the plan contract)."""
        return {
            "method": self.method,
            "url": self.url,
            "url_from": self.url_from,
            "headers": dict(self.headers),
            "fields": None if self.fields is None else [[name, value] for name, value in self.fields],
            "body": self.body,
            "range": None if self.range is None else [self.range[0], self.range[1]],
            "part_number": self.part_number,
            "block_id": self.block_id,
            "expect": list(self.expect),
            "collect": self.collect,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadPlan:
    """Everything a client needs to write one object of any size, on any provider.

    Attributes:
        provider: ``s3``, ``gcs`` or ``azure``.
        kind: ``raw`` (the customer's file) or ``result`` (the cleaned JSON of an import).
        key: The object key that will be written.
        expires_at: When the plan's URLs stop working (timezone-aware UTC).
        size: The file's size in bytes, or None (then the plan is one request).
        part_size: Bytes per part (the last may be smaller); None for one request.
        parallel: Whether parts may be sent concurrently.
        parts: The requests that carry the file, in order.
        complete: Sent after every part succeeded, or None.
        abort: Sent (best effort) on failure or cancel, or None.
        request: For a one-request plan, the request itself: its fields stay at the top level of
            :meth:`to_dict` so ``byos presign --json`` is unchanged.
        upload_id: The provider's id of a started multipart upload (S3 ``UploadId``), or None.
    """

    provider: str
    kind: Kind
    key: str
    expires_at: datetime
    size: int | None
    part_size: int | None
    parallel: bool
    parts: tuple[Step, ...] = field(repr=False)
    complete: Step | None = field(repr=False)
    abort: Step | None = field(repr=False)
    request: UploadRequest | None = field(default=None, repr=False)
    upload_id: str | None = field(default=None, repr=False)

    @property
    def single(self) -> bool:
        """Whether the whole file goes in one request."""
        return self.complete is None and len(self.parts) == 1

    def to_dict(self) -> dict[str, Any]:
        """Return the plan's JSON form: the contract shared with every client."""
        data: dict[str, Any] = self.request.to_dict() if self.request is not None else {}
        data.update(
            {
                "provider": self.provider,
                "kind": self.kind,
                "key": self.key,
                "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
                "size": self.size,
                "part_size": self.part_size,
                "parallel": self.parallel,
                "parts": [part.to_dict() for part in self.parts],
                "complete": None if self.complete is None else self.complete.to_dict(),
                "abort": None if self.abort is None else self.abort.to_dict(),
            }
        )
        return data


def single_step(request: UploadRequest) -> Step:
    """The one step that sends a whole file as ``request`` says (PUT with headers, or a POST form)."""
    if request.method == "POST":
        return Step(
            method="POST",
            url=request.url,
            fields=tuple(request.fields.items()),
            body="file",
            expect=(200, 201, 204),
        )
    return Step(
        method=request.method, url=request.url, headers=request.headers, body="file", expect=(200, 201)
    )
