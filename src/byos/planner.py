"""Build the upload plan of one file on any provider: one request when small, parts when large.

:func:`presign_upload` is the one entry point; it reuses each provider's own calls (S3
``start_multipart``, Azure ``start_block_upload``, GCS ``start_resumable``), so a browser (through the plan's
JSON) and :func:`byos.upload_file` (through the same plan) send exactly the same requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.option_types import require_destination, require_int
from byos.plans import Kind, Step, UploadPlan, single_step
from byos.presigner_cache import fast_plan, part_steps
from byos.providers import get_provider

if TYPE_CHECKING:
    from byos.config import Destination

MIB = 1024**2
DEFAULT_PART_BYTES = 8 * MIB
"""Default part size on every provider (S3 parts, Azure blocks, GCS chunks), grown for huge files."""
MAX_PART_BYTES = 5 * 1024**3
"""No part is larger (S3's own limit; :func:`byos.upload_file` holds two parts in memory)."""
MAX_AZURE_BLOCK_BYTES = 4000 * MIB
"""Azure's largest block (a one-request Put Blob may be at most 5000 MiB)."""
MAX_PLAN_PARTS = 10_000
"""No plan has more parts (S3's own limit; Azure allows 50,000 blocks, GCS has no limit)."""
GCS_CHUNK_QUANTUM = 256 * 1024
RESULT_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Checksums:
    """Digests of a file a server-side upload knows before it sends anything (base64 each).

    Attributes:
        sha256: SHA-256 of the whole file.
        md5: MD5 of the whole file.
        part_sha256: SHA-256 of each part, in order (S3 signs each in its part URL).
        part_md5: MD5 of each part, in order (Azure checks each Put Block's ``Content-MD5``).
    """

    sha256: str
    md5: str
    part_sha256: tuple[str, ...] = ()
    part_md5: tuple[str, ...] = ()


def check_kind(kind: object, import_id: object) -> None:
    """Refuse an unknown kind, or a result without its import id, before anything is read or resolved.

    Raises:
        InvalidInputError: Naming ``kind`` or ``import_id``.
    """
    if kind not in ("raw", "result"):
        raise InvalidInputError("kind", f"{kind!r} is not a kind of upload", "use raw or result")
    if kind == "result" and import_id is None:
        raise InvalidInputError(
            "import_id", "is required for a result upload", "pass the import's id (import_id=...)"
        )


def choose_part_size(provider: str, size: int, part_size: int | None = None) -> int:
    """The part size a plan of ``size`` bytes uses on ``provider``.

    8 MiB by default, grown in whole MiB so no file needs more than 10,000 parts; S3 parts are at least
    5 MiB, Azure blocks at most 4000 MiB, GCS chunks a multiple of 256 KiB; a given ``part_size``
    is at most 5 GiB and may not make more than 10,000 parts.

    Raises:
        InvalidInputError: ``part_size`` breaks the provider's rules.
    """
    if part_size is not None:
        require_int("part_size", part_size)
        if part_size < 1:
            raise InvalidInputError("part_size", "must be at least 1 byte", "omit it for the default")
        if part_size > MAX_PART_BYTES:
            raise InvalidInputError(
                "part_size", f"{part_size} is over 5 GiB", "omit it for the default (two parts are in memory)"
            )
        if provider == "azure" and part_size > MAX_AZURE_BLOCK_BYTES:
            raise InvalidInputError(
                "part_size",
                f"{part_size} is over 4000 MiB",
                "Azure blocks (and one-request blobs) are smaller",
            )
        if provider == "gcs" and part_size % GCS_CHUNK_QUANTUM:
            raise InvalidInputError(
                "part_size", f"{part_size} is not a multiple of 256 KiB", "GCS chunks are multiples of 262144"
            )
        if -(-size // part_size) > MAX_PLAN_PARTS:
            raise InvalidInputError(
                "part_size",
                f"{part_size} bytes needs {-(-size // part_size)} parts, over {MAX_PLAN_PARTS}",
                "choose larger parts or omit it",
            )
        return part_size
    needed = -(-size // MAX_PLAN_PARTS)  # integers: a float would overflow on a huge size
    chosen = max(DEFAULT_PART_BYTES, -(-needed // MIB) * MIB)
    if chosen > MAX_PART_BYTES:
        raise InvalidInputError(
            "size", f"{size} bytes is over {MAX_PLAN_PARTS} parts of 5 GiB", "split the file"
        )
    return chosen


def presign_upload(
    destination: Destination,
    filename: str,
    *,
    size: int | None = None,
    kind: Kind = "raw",
    import_id: str | None = None,
    content_type: str | None = None,
    part_size: int | None = None,
    expires: timedelta | None = None,
    upload_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
    method: Literal["PUT", "POST"] = "PUT",
    now: datetime | None = None,
    checksums: Checksums | None = None,
) -> UploadPlan:
    """Presign the upload of one file of any size as a plan of plain HTTP requests (write-once).

    Small files (or an unknown ``size``) get one request; larger ones get S3 multipart parts (the upload is
    created here, server side), Azure blocks or a GCS resumable session, with the completing and aborting
    requests. ``kind="result"`` writes the cleaned result of ``import_id`` (``result_key_template``,
    ``application/json`` unless ``content_type``).

    Args:
        destination: Where to write.
        filename: The untrusted name the user gave the file (sanitised into the key, kept in metadata).
        size: The file's size in bytes; None for one request of any size.
        kind: ``raw`` or ``result``.
        import_id: The import's id (required for ``result``, and by templates that use it).
        content_type: Lock the Content-Type.
        part_size: Bytes per part (default: 8 MiB, grown for huge files).
        expires: The URLs' lifetime (the destination's ``expires`` by default).
        upload_id: The upload's UUID (new by default); part of raw keys.
        metadata: Extra object metadata.
        method: ``POST`` for a browser form upload (one request only).
        now: The signing time (UTC now by default).
        checksums: Digests the server already knows (see :func:`byos.upload_file`): signed into, or sent
            with, every request that can carry one (S3 parts and PUTs, Azure blocks and PUTs, GCS PUTs) so
            the provider refuses a corrupted body.

    Returns:
        The plan (see :class:`~byos.plans.UploadPlan`; ``to_dict()`` gives the JSON contract).

    Raises:
        InvalidInputError: A bad argument (nothing is sent).
        CredentialsError: No usable credentials.
        ProviderError: S3 refused to create the multipart upload.
    """
    fast = fast_plan(
        destination,
        filename,
        size=size,
        content_type=content_type,
        expires=expires,
        now=now,
        plain=kind == "raw"
        and method == "PUT"
        and part_size is None
        and upload_id is None
        and import_id is None
        and (metadata is None or (metadata.__class__ is dict and not metadata))
        and checksums is None,
    )
    if fast is not None:  # one request from a compiled presigner: what _single returns, byte for byte
        return fast
    require_destination(destination)
    if size is not None:
        require_int("size", size)
        if size < 0:
            raise InvalidInputError("size", f"{size} is negative", "pass the file's size in bytes")
    check_kind(kind, import_id)
    if kind == "result" and content_type is None:
        content_type = RESULT_CONTENT_TYPE
    provider = destination.provider
    options = UploadOptions(
        filename=filename,
        content_type=content_type,
        expires=expires,
        method=method,
        upload_id=upload_id,
        import_id=import_id,
        metadata={} if metadata is None else metadata,
        now=now,
        kind=kind,
    )
    chosen = None if size is None else choose_part_size(provider, size, part_size)
    if size is None or chosen is None or size <= chosen or method == "POST":
        return _single(destination, options, size, checksums)
    if provider == "s3":
        return _s3_plan(destination, options, size, chosen, checksums)
    if provider == "azure":
        return _azure_plan(destination, options, size, chosen, checksums)
    return _gcs_plan(destination, options, size, chosen)  # the session's MD5 is compared after upload


def _replace(options: UploadOptions, **changes: object) -> UploadOptions:
    values = {name: getattr(options, name) for name in UploadOptions.__dataclass_fields__}
    values.update(changes)
    return UploadOptions(**values)


def _single(
    destination: Destination, options: UploadOptions, size: int | None, checksums: Checksums | None
) -> UploadPlan:
    provider = destination.provider
    changes: dict[str, object] = {}
    if size is not None and provider != "azure" and options.method == "PUT":
        changes["content_length"] = size  # an Azure SAS cannot lock it; S3 and GCS sign it
    if checksums is not None:
        if provider == "s3":
            changes["checksum_sha256"] = checksums.sha256
        else:
            changes["content_md5"] = checksums.md5
    request = get_provider(provider).presign_upload(destination, _replace(options, **changes))
    return UploadPlan(
        provider=provider,
        kind=options.kind,
        key=request.key,
        expires_at=request.expires_at,
        size=size,
        part_size=None,
        parallel=False,
        parts=(single_step(request),),
        complete=None,
        abort=None,
        request=request,
    )


def _ranges(size: int, part_size: int) -> list[tuple[int, int]]:
    return [(start, min(start + part_size, size)) for start in range(0, size, part_size)]


def _s3_plan(
    destination: Destination, options: UploadOptions, size: int, part_size: int, checksums: Checksums | None
) -> UploadPlan:
    from byos.providers import s3  # noqa: PLC0415  (only S3 plans need it)

    upload = s3.start_multipart(
        destination,
        options,
        size,
        part_size=part_size,
        part_checksums=None if checksums is None else checksums.part_sha256,
    )
    signed_at = upload.signed_at
    assert signed_at is not None  # noqa: S101  (start_multipart always records it)
    seconds = max(1, int((upload.expires_at - signed_at).total_seconds()))
    complete = s3.presign_complete(destination, upload, expires=seconds, now=signed_at)
    abort = s3.presign_abort(destination, upload, expires=seconds, now=signed_at)
    parts = part_steps(upload.parts, _ranges(size, upload.part_size))  # Step(...) each, headers shared
    return UploadPlan(
        provider="s3",
        kind=options.kind,
        key=upload.key,
        expires_at=upload.expires_at,
        size=size,
        part_size=upload.part_size,
        parallel=True,
        parts=parts,
        complete=_step(complete, body="s3-complete", expect=(200,)),
        abort=_step(abort, body="empty", expect=(204,)),
        upload_id=upload.multipart_id,
    )


def _step(request: UploadRequest, **settings: object) -> Step:
    return Step(method=request.method, url=request.url, headers=request.headers, **settings)  # type: ignore[arg-type]


def _azure_plan(
    destination: Destination, options: UploadOptions, size: int, part_size: int, checksums: Checksums | None
) -> UploadPlan:
    from byos.providers import azure  # noqa: PLC0415  (only Azure plans need it)

    upload = azure.start_block_upload(destination, options, size, min_block_size=part_size)
    blocks = list(upload.plan.blocks())
    part_md5: Sequence[str] = () if checksums is None else checksums.part_md5
    if checksums is not None and len(part_md5) != len(blocks):
        raise InvalidInputError("checksums", "do not match the blocks", "hash every block")
    parts = tuple(
        Step(
            method="PUT",
            url=request.url,
            headers={"Content-MD5": part_md5[block.index]} if part_md5 else {},
            body="range",
            range=(block.offset, block.offset + block.length),
            block_id=block.block_id,
            expect=(201,),
        )
        for request, block in zip(upload.blocks, blocks, strict=True)
    )
    commit_headers = dict(upload.commit.headers)
    if checksums is not None:
        commit_headers["x-ms-blob-content-md5"] = checksums.md5
    commit = Step(
        method="PUT",
        url=upload.commit.url,
        headers=commit_headers,
        body="azure-block-list",
        expect=(201,),
    )
    return UploadPlan(
        provider="azure",
        kind=options.kind,
        key=upload.key,
        expires_at=upload.expires_at,
        size=size,
        part_size=upload.plan.block_size,
        parallel=True,
        parts=parts,
        complete=commit,
        abort=None,
    )


def _gcs_plan(destination: Destination, options: UploadOptions, size: int, part_size: int) -> UploadPlan:
    from byos.providers import gcs  # noqa: PLC0415  (only GCS plans need it)

    start = gcs.start_resumable(destination, _replace(options, content_length=size))
    spans = _ranges(size, part_size)
    chunks = [_step(start, body="empty", expect=(200, 201), collect="session")]
    for index, (first, end) in enumerate(spans):
        last = index == len(spans) - 1
        headers = {"Content-Range": f"bytes {first}-{end - 1}/{size}"}
        chunks.append(
            Step(
                method="PUT",
                url=None,
                url_from="session",
                headers=headers,
                body="range",
                range=(first, end),
                expect=(200, 201) if last else (308,),
            )
        )
    return UploadPlan(
        provider="gcs",
        kind=options.kind,
        key=start.key,
        expires_at=start.expires_at,
        size=size,
        part_size=part_size,
        parallel=False,
        parts=tuple(chunks),
        complete=None,
        abort=Step(method="DELETE", url=None, url_from="session", body="empty", expect=(204, 499)),
    )
