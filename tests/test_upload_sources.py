"""upload_file's path sources: only a regular file; a device or pipe (no size to plan by) is refused."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import byos
from byos.config import destination_from_dict
from byos.errors import InvalidInputError
from tests.stub_servers import StubS3


def _dest(endpoint: str) -> object:
    return destination_from_dict(
        {
            "provider": "s3",
            "bucket": "acme-imports",
            "region": "us-east-1",
            "endpoint_url": endpoint,
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "prefix": "imports/",
        },
        env=False,
    )


def test_a_device_is_refused_not_uploaded_empty() -> None:
    """/dev/zero reports size 0: uploading it would write an empty object under a write-once key."""
    with StubS3() as server:
        with pytest.raises(InvalidInputError, match=r"^source: is not a regular file"):
            byos.upload_file(_dest(server.endpoint), "/dev/zero", kind="result", import_id="imp-1")  # type: ignore[arg-type]
        assert server.requests == []


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            byos.upload_file(_dest(server.endpoint), fifo)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001  (handed to the test)
            outcome.append(exc)
        else:
            outcome.append(None)

    with StubS3() as server:
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=5)
        if worker.is_alive():  # unblock the open so the thread ends, then fail
            with fifo.open("wb"):
                pass
            worker.join(timeout=5)
            pytest.fail("upload_file waited for a writer on a FIFO")
        assert server.requests == []
    assert isinstance(outcome[0], InvalidInputError)
    assert str(outcome[0]).startswith("source: is not a regular file")
