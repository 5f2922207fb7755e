"""Reading a file to upload: open a path or a stream (spooling one that cannot seek), and hash it once.

Used by :func:`byos.upload_file` before it asks for the plan, so every request can carry a checksum the
provider verifies.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, cast

from byos.errors import InvalidInputError, ProviderError
from byos.planner import Checksums

Source = str | os.PathLike[str] | IO[bytes] | io.RawIOBase | io.BufferedIOBase
"""A path, or a binary stream."""
READ_BYTES = 1024 * 1024
"""Bytes read at a time while hashing or spooling."""


@contextmanager
def opened(source: Source) -> Iterator[tuple[IO[bytes], int, int]]:
    """Yield ``(file, start, size)``: a seekable binary file and the span to upload.

    Raises:
        InvalidInputError: The path cannot be read, or ``source`` is not a binary stream.
    """
    if isinstance(source, str | os.PathLike):
        try:  # non-blocking: opening a FIFO would otherwise wait for a writer
            descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                "source", f"cannot be read ({type(exc).__name__})", "pass a file"
            ) from None
        with os.fdopen(descriptor, "rb") as file:
            found = os.fstat(file.fileno())
            if not stat.S_ISREG(found.st_mode):  # a device or pipe has no size to plan by
                raise InvalidInputError(
                    "source", "is not a regular file", "pass a file, or the stream itself (it is spooled)"
                )
            yield file, 0, found.st_size
        return
    if not hasattr(source, "read"):
        raise InvalidInputError(
            "source", "is neither a path nor a binary stream", "pass a path or open(…, 'rb')"
        )
    seekable = False
    try:
        seekable = bool(source.seekable())
    except (AttributeError, OSError):
        seekable = False
    if seekable:
        start = source.tell()
        end = source.seek(0, os.SEEK_END)
        source.seek(start)
        yield cast("IO[bytes]", source), start, end - start
        return
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(source, spool, READ_BYTES)
        size = spool.tell()
        spool.seek(0)
        yield spool, 0, size


def digest_of(algorithm: str, data: bytes) -> str:
    """Base64 of ``data``'s ``algorithm`` digest (``sha256`` or ``md5``)."""
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def digests(file: IO[bytes], start: int, size: int, part_size: int, provider: str) -> Checksums:
    """Read the file once: SHA-256 and MD5 of the whole, and of every part the plan will send.

    Raises:
        ProviderError: The file is shorter than ``size`` (it changed); nothing was sent.
    """
    whole_sha, whole_md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324  (Azure and GCS check MD5)
    part_sha: list[str] = []
    part_md5: list[str] = []
    file.seek(start)
    offset = 0
    while offset < size or offset == size == 0:
        length = min(part_size, size - offset)
        sha, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324
        left = length
        while left:
            chunk = file.read(min(READ_BYTES, left))
            if not chunk:
                raise ProviderError("the file became shorter while it was read; nothing was sent")
            sha.update(chunk)
            md5.update(chunk)
            whole_sha.update(chunk)
            whole_md5.update(chunk)
            left -= len(chunk)
        part_sha.append(base64.b64encode(sha.digest()).decode())
        part_md5.append(base64.b64encode(md5.digest()).decode())
        offset += length
        if size == 0:
            break
    return Checksums(
        sha256=base64.b64encode(whole_sha.digest()).decode(),
        md5=base64.b64encode(whole_md5.digest()).decode(),
        part_sha256=tuple(part_sha) if provider == "s3" else (),
        part_md5=tuple(part_md5) if provider == "azure" else (),
    )
