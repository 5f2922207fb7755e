"""Plan limits a caller's sizes cannot break: at most 10,000 parts, parts of at most 5 GiB, no crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import byos
from byos.errors import InvalidInputError
from byos.planner import MAX_PLAN_PARTS, choose_part_size
from tests.gcs_helpers import HMAC_ACCESS_ID, HMAC_SECRET
from tests.gcs_helpers import destination as gcs_destination

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
CHUNK = 256 * 1024


def test_a_given_part_size_may_not_make_more_than_10000_parts() -> None:
    """Else a 5 TiB GCS plan of 256 KiB chunks would be 20 million steps, built in memory."""
    with pytest.raises(InvalidInputError, match=r"^part_size: 262144 bytes needs 20971520 parts, over 10000"):
        choose_part_size("gcs", 5 * 1024**4, CHUNK)
    dest = gcs_destination(hmac_access_id=HMAC_ACCESS_ID, hmac_secret=HMAC_SECRET)
    with pytest.raises(InvalidInputError, match=r"^part_size: "):
        byos.presign_upload(dest, "a.bin", size=CHUNK * (MAX_PLAN_PARTS + 1), part_size=CHUNK, now=NOW)
    plan = byos.presign_upload(dest, "a.bin", size=CHUNK * MAX_PLAN_PARTS, part_size=CHUNK, now=NOW)
    assert len(plan.parts) == MAX_PLAN_PARTS + 1  # the session start, then the chunks


@pytest.mark.parametrize("provider", ["s3", "gcs", "azure"])
def test_a_part_over_5_gib_is_refused(provider: str) -> None:
    """upload_file holds two parts in memory: a caller's part size cannot make that 2 x 1 TiB."""
    with pytest.raises(InvalidInputError, match=r"^part_size: \d+ is over 5 GiB"):
        choose_part_size(provider, 4 * 1024**4, 1024**4)


@pytest.mark.parametrize("size", [10**400, 200 * 1024**4], ids=["10**400", "200-TiB"])
def test_a_size_no_plan_can_hold_is_an_input_error_not_a_crash(size: int) -> None:
    with pytest.raises(InvalidInputError, match=r"^size: "):
        choose_part_size("azure", size)
    dest = gcs_destination(hmac_access_id=HMAC_ACCESS_ID, hmac_secret=HMAC_SECRET)
    with pytest.raises(InvalidInputError, match=r"^size: "):
        byos.presign_upload(dest, "a.bin", size=size, now=NOW)


def test_an_azure_part_over_4000_mib_is_refused_before_the_file_is_read() -> None:
    """Azure would refuse the block (or a one-request blob over 5000 MiB) only after it was sent."""
    with pytest.raises(InvalidInputError, match=r"^part_size: \d+ is over 4000 MiB"):
        choose_part_size("azure", 10 * 1024**3, 4500 * 1024**2)
    assert choose_part_size("azure", 10 * 1024**3, 4000 * 1024**2) == 4000 * 1024**2
