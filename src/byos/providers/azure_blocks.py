"""Azure block uploads: every Put Block URL and the Put Block List that commits them, presigned at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.prepared import prepare
from byos.providers.azure_entra import NAME, azure_destination
from byos.providers.azure_presign import check_options, metadata_headers, signing_for
from byos.signing.sas import (
    DEFAULT_BLOCK_SIZE,
    BlockPlan,
    block_list_body,
    plan_blocks,
    put_block_list_url,
    put_block_url,
)

if TYPE_CHECKING:
    from byos.config import Destination


@dataclass(frozen=True, slots=True)
class BlockUpload:
    """A block upload of one blob: a PUT per block, then one Put Block List that commits them.

    The browser sends block ``i`` (bytes ``plan.block_size * i`` onwards) to ``blocks[i]`` (any order, in
    parallel), then ``commit`` with ``commit_body``. The blob appears only when the commit succeeds; blocks
    never committed are discarded by Azure after a week.

    Write-once rests on ``commit`` carrying ``If-None-Match: *`` (Azure answers 409 when the blob exists):
    the SAS needs write permission (``cw``) for Put Block, so it could also replace a blob with a plain Put
    Blob until it expires.

    Attributes:
        key: The blob name.
        plan: Block size and count.
        blocks: One PUT (Put Block) per block, in order; no headers beyond Content-Length.
        commit: The Put Block List request: URL and the headers to send.
        commit_body: The Put Block List body (XML naming every block in order).
        expires_at: When every URL expires.
    """

    key: str
    plan: BlockPlan
    blocks: tuple[UploadRequest, ...] = field(repr=False)
    commit: UploadRequest
    commit_body: bytes = field(repr=False)
    expires_at: datetime


def start_block_upload(
    destination: Destination,
    options: UploadOptions,
    size: int,
    *,
    min_block_size: int = DEFAULT_BLOCK_SIZE,
) -> BlockUpload:
    """Presign a block upload of ``size`` bytes: every Put Block URL and the Put Block List request.

    Nothing is sent to Azure: a block upload needs no server-side start.

    Args:
        destination: An Azure destination.
        options: As for :func:`presign_upload` (PUT only; no size limits, checksums or MD5).
        size: The file's size in bytes; blocks are planned within Azure's limits.
        min_block_size: Smallest block (8 MiB by default); grown when the file needs over 50,000 blocks.

    Raises:
        InvalidInputError: A bad option or size (nothing is sent).
        CredentialsError: No delegation key could be had.
    """
    azure = azure_destination(destination)
    check_options(options)
    if options.content_md5 is not None:
        raise InvalidInputError(
            "content_md5",
            "Azure cannot verify a whole-file MD5 of a block upload",
            "drop it, or send Content-MD5 with each block",
        )
    plan = plan_blocks(size, min_block_size=min_block_size)
    if azure.max_upload_bytes is not None and size > azure.max_upload_bytes:
        raise InvalidInputError(
            "size", f"{size} is over the limit of {azure.max_upload_bytes} bytes", "split the file"
        )
    signing = signing_for(azure, options)
    prepared = prepare(azure, options, credentials_expire_at=signing.expires_at)
    sas = signing.signer.sign(
        azure.container,
        prepared.key,
        now=prepared.now,
        expires=timedelta(seconds=prepared.seconds),
        overwrite=options.overwrite,
        block_upload=True,
        stored_access_policy=azure.stored_access_policy,
    )
    assert sas.expires_at is not None  # noqa: S101  (byos always signs the expiry itself)
    expires_at = sas.expires_at
    blocks = tuple(
        UploadRequest(NAME, "PUT", put_block_url(sas.url, block.block_id), {}, {}, prepared.key, expires_at)
        for block in plan.blocks()
    )
    headers: dict[str, str] = {}
    if not options.overwrite:
        headers["If-None-Match"] = "*"
    if options.content_type is not None:
        headers["x-ms-blob-content-type"] = options.content_type
    headers.update(metadata_headers(prepared.metadata))
    commit = UploadRequest(NAME, "PUT", put_block_list_url(sas.url), headers, {}, prepared.key, expires_at)
    return BlockUpload(prepared.key, plan, blocks, commit, block_list_body(plan.block_ids()), expires_at)
