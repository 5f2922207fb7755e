"""How plans split a file: 8 MiB parts, grown so no plan has more than 10,000; each provider's own rules."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

import byos
from byos.errors import InvalidInputError
from byos.planner import DEFAULT_PART_BYTES, MAX_PLAN_PARTS, choose_part_size
from tests.azure_helpers import destination as azure_destination
from tests.gcs_helpers import HMAC_ACCESS_ID, HMAC_SECRET
from tests.gcs_helpers import destination as gcs_destination

MIB = 1024**2
NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
KEY = "a2V5LWZvci10ZXN0cy1vbmx5LW5vdC1hLXJlYWwta2V5LWZvci1henVyZS0xMjM0NTY3OA=="


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, DEFAULT_PART_BYTES),
        (DEFAULT_PART_BYTES * MAX_PLAN_PARTS, DEFAULT_PART_BYTES),
        (DEFAULT_PART_BYTES * MAX_PLAN_PARTS + 1, 9 * MIB),
        (5 * 1024**4, 525 * MIB),  # S3's largest object: 9,987 parts
    ],
)
def test_parts_grow_in_whole_mib_to_stay_within_10000(size: int, expected: int) -> None:
    chosen = choose_part_size("s3", size)
    assert chosen == expected
    assert -(-size // chosen) <= MAX_PLAN_PARTS
    assert chosen % MIB == 0


def test_gcs_chunks_are_multiples_of_256_kib() -> None:
    assert choose_part_size("gcs", 10, 512 * 1024) == 512 * 1024
    with pytest.raises(InvalidInputError, match=r"^part_size: 300000 is not a multiple of 256 KiB"):
        choose_part_size("gcs", 10, 300_000)
    with pytest.raises(InvalidInputError, match=r"^part_size: must be at least 1 byte"):
        choose_part_size("azure", 10, 0)


def test_a_huge_azure_file_is_planned_offline_within_the_limits() -> None:
    account = SimpleNamespace(account_name="acmeimports", blob_endpoint=None, account_key=KEY)
    dest = azure_destination(account, "uploads")
    size = 200 * 1024**3  # 200 GiB: 8 MiB blocks would be 25,600
    plan = byos.presign_upload(dest, "huge.bin", size=size, now=NOW)
    assert plan.part_size == 21 * MIB
    assert len(plan.parts) == -(-size // (21 * MIB)) <= MAX_PLAN_PARTS
    last = plan.parts[-1].range
    assert last is not None
    assert last[1] == size
    assert len({part.block_id for part in plan.parts}) == len(plan.parts)


def test_gcs_plan_sizes_and_bad_sizes() -> None:
    dest = gcs_destination(hmac_access_id=HMAC_ACCESS_ID, hmac_secret=HMAC_SECRET)
    plan = byos.presign_upload(dest, "a.bin", size=DEFAULT_PART_BYTES + 1, now=NOW)
    assert [part.range for part in plan.parts[1:]] == [
        (0, DEFAULT_PART_BYTES),
        (DEFAULT_PART_BYTES, DEFAULT_PART_BYTES + 1),
    ]
    assert byos.presign_upload(dest, "a.bin", size=DEFAULT_PART_BYTES, now=NOW).single
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(InvalidInputError, match=r"^size: "):
            byos.presign_upload(dest, "a.bin", size=bad, now=NOW)  # type: ignore[arg-type]
