"""Azure block uploads on a blob SAS: the Put Block and Put Block List URLs, block ids and block plans."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from byos.signing.sas_rules import (
    _BLOCK_ID_WIDTH,
    _MAX_BLOCK_ID_BYTES,
    DEFAULT_BLOCK_SIZE,
    MAX_BLOB_SIZE,
    MAX_BLOCK_SIZE,
    MAX_BLOCKS,
    MIB,
    _invalid,
)


def put_block_url(sas_url: str, block_id_value: str) -> str:
    """Return the Put Block URL for a blob SAS URL: ``…?SAS&comp=block&blockid=ID`` (ID percent-encoded).

    Raises:
        InvalidInputError: The block ID is not base64 of at most 64 bytes.
    """
    _check_block_id(block_id_value)
    return f"{sas_url}&comp=block&blockid={quote(block_id_value, safe='')}"


def put_block_list_url(sas_url: str) -> str:
    """Return the Put Block List URL for a blob SAS URL: ``…?SAS&comp=blocklist``."""
    return f"{sas_url}&comp=blocklist"


def _check_block_id(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise _invalid("block_id", "is empty", "use block_id(index)")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("block_id", "is not base64", "use block_id(index)") from None
    if not raw or len(raw) > _MAX_BLOCK_ID_BYTES:
        raise _invalid("block_id", "must encode 1-64 bytes", "use block_id(index)")


def block_id(index: int) -> str:
    """Return the block ID of block ``index``: base64 of a zero-padded 6-digit counter.

    Every ID has the same length (8 characters), as Azure requires within one blob.

    Raises:
        InvalidInputError: ``index`` is not in 0..49,999.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_BLOCKS:
        raise _invalid("index", "must be an integer from 0 to 49999", "number blocks from 0")
    return base64.b64encode(f"{index:0{_BLOCK_ID_WIDTH}d}".encode()).decode()


def block_list_body(block_ids: Iterable[str]) -> bytes:
    """Return the Put Block List request body committing ``block_ids`` in order (``<Latest>`` each).

    Raises:
        InvalidInputError: A block ID is invalid, the IDs differ in length, or there are over 50,000.
    """
    ids = list(block_ids)
    if len(ids) > MAX_BLOCKS:
        raise _invalid("block_ids", "lists more than 50,000 blocks", "use larger blocks")
    for value in ids:
        _check_block_id(value)
    if len({len(value) for value in ids}) > 1:
        raise _invalid("block_ids", "differ in length", "use block_id(index) for every block")
    latest = "".join(f"<Latest>{value}</Latest>" for value in ids)
    return f'<?xml version="1.0" encoding="utf-8"?><BlockList>{latest}</BlockList>'.encode()


class Block:
    """One block of a block plan: its ID and the byte range of the file it carries (immutable)."""

    __slots__ = ("block_id", "index", "length", "offset")
    index: int
    block_id: str
    offset: int
    length: int

    def __init__(self, index: int, block_id: str, offset: int, length: int) -> None:
        for name, value in (("index", index), ("block_id", block_id), ("offset", offset), ("length", length)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Block is immutable; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block):
            return NotImplemented
        return (self.index, self.block_id, self.offset, self.length) == (
            other.index,
            other.block_id,
            other.offset,
            other.length,
        )

    def __hash__(self) -> int:
        return hash((self.index, self.block_id, self.offset, self.length))

    def __repr__(self) -> str:
        fields = f"index={self.index}, block_id={self.block_id!r}, offset={self.offset}, length={self.length}"
        return f"Block({fields})"


class BlockPlan:
    """How to split a file of ``size`` bytes into blocks.

    Attributes:
        size: File size in bytes.
        block_size: Size of every block but the last.
        count: Number of blocks (0 for an empty file: commit an empty block list).
    """

    __slots__ = ("block_size", "count", "size")
    size: int
    block_size: int
    count: int

    def __init__(self, size: int, block_size: int, count: int) -> None:
        for name, value in (("size", size), ("block_size", block_size), ("count", count)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"BlockPlan is immutable; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlockPlan):
            return NotImplemented
        return (self.size, self.block_size, self.count) == (other.size, other.block_size, other.count)

    def __hash__(self) -> int:
        return hash((self.size, self.block_size, self.count))

    def __repr__(self) -> str:
        return f"BlockPlan(size={self.size}, block_size={self.block_size}, count={self.count})"

    def blocks(self) -> Iterator[Block]:
        """Yield every block in order."""
        for index in range(self.count):
            offset = index * self.block_size
            yield Block(index, block_id(index), offset, min(self.block_size, self.size - offset))

    def block_ids(self) -> list[str]:
        """Return the IDs of every block in order (the Put Block List order)."""
        return [block_id(index) for index in range(self.count)]


def plan_blocks(size: int, *, min_block_size: int = DEFAULT_BLOCK_SIZE) -> BlockPlan:
    """Plan a block upload of ``size`` bytes within Azure's limits.

    Blocks are ``min_block_size`` bytes (8 MiB by default), grown in whole MiB when the file would
    otherwise need more than 50,000 blocks; no block exceeds 4000 MiB.

    Raises:
        InvalidInputError: ``size`` is negative or over 50,000 x 4000 MiB, or ``min_block_size`` is out
            of range.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _invalid("size", "must be a non-negative integer", "pass the file size in bytes")
    if size > MAX_BLOB_SIZE:
        raise _invalid(
            "size", "exceeds Azure's block blob limit of 50,000 blocks of 4000 MiB", "split the file"
        )
    if (
        isinstance(min_block_size, bool)
        or not isinstance(min_block_size, int)
        or not 1 <= min_block_size <= MAX_BLOCK_SIZE
    ):
        raise _invalid("min_block_size", "must be 1 byte to 4000 MiB", "pass for example 8 MiB")
    needed = -(-size // MAX_BLOCKS)
    block_size = min_block_size if needed <= min_block_size else min(-(-needed // MIB) * MIB, MAX_BLOCK_SIZE)
    return BlockPlan(size=size, block_size=block_size, count=-(-size // block_size))
