"""Opt-in conformance on real clouds: the same upload path and setup checks against a real bucket.

Each test runs only when its provider's BYOS_LIVE_*_CONFIG variable names a destination file (see
tests/conftest.py); otherwise it is skipped and the summary says which variable to set.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from byos.checker import check_setup
from byos.config import load_destination
from byos.models import Status
from byos.uploads import presign_upload

BODY = b"id,name\n1,live conformance\n"


def _upload_then_refuse_overwrite(config: Path) -> None:
    destination = load_destination(config)
    request = presign_upload(destination, "byos live test.csv", content_type="text/csv")
    first = requests.request(
        request.method, request.url, headers=dict(request.headers), data=BODY, timeout=30
    )
    assert 200 <= first.status_code < 300, first.text[:300]
    second = requests.request(
        request.method, request.url, headers=dict(request.headers), data=BODY, timeout=30
    )
    assert second.status_code in (409, 412), second.text[:300]
    tampered = request.url[:-2] + ("00" if not request.url.endswith("00") else "11")
    third = requests.request(request.method, tampered, headers=dict(request.headers), data=BODY, timeout=30)
    assert third.status_code in (401, 403)


def _setup_passes(config: Path) -> None:
    report = check_setup(load_destination(config))
    statuses = {check.id: check.status for check in report.checks}
    for check_id in ("credentials", "bucket.exists", "bucket.region", "upload", "write_once"):
        assert statuses[check_id] is Status.PASS, report.to_dict()
    assert statuses["public_access"] is Status.PASS, report.to_dict()


@pytest.mark.live("s3")
def test_live_s3_upload(live_config: Path) -> None:
    _upload_then_refuse_overwrite(live_config)


@pytest.mark.live("s3")
def test_live_s3_setup(live_config: Path) -> None:
    _setup_passes(live_config)


@pytest.mark.live("gcs")
def test_live_gcs_upload(live_config: Path) -> None:
    _upload_then_refuse_overwrite(live_config)


@pytest.mark.live("gcs")
def test_live_gcs_setup(live_config: Path) -> None:
    _setup_passes(live_config)


@pytest.mark.live("azure")
def test_live_azure_upload(live_config: Path) -> None:
    _upload_then_refuse_overwrite(live_config)


@pytest.mark.live("azure")
def test_live_azure_setup(live_config: Path) -> None:
    _setup_passes(live_config)
