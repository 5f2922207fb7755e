"""Retries never overwrite: a completion whose answer was lost is retried write-once, on LocalStack.

tests/fault_proxy.py forwards the first CompleteMultipartUpload to LocalStack (which completes the object)
and closes the connection instead of passing the answer on, as a network that fails at the worst moment does.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

import byos
from byos.errors import ProviderError
from tests import s3_helpers
from tests.fault_proxy import fault_proxy

MIB = 1024**2


@pytest.mark.emulator
def test_a_retried_complete_whose_first_answer_was_lost_never_overwrites(
    localstack: Any, tmp_path: Path
) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    path = tmp_path / "result.json"
    path.write_bytes(os.urandom(11 * MIB))

    def rule(method: str, target: str, seen: int) -> str | None:
        return "lose-answer" if method == "POST" and "uploadId=" in target and seen == 0 else None

    with fault_proxy(localstack.endpoint, rule) as proxy:
        dest = s3_helpers.destination(localstack, bucket, endpoint_url=proxy.endpoint)
        with pytest.raises(ProviderError, match=r"an earlier try got no answer and may have written it"):
            byos.upload_file(dest, path, kind="result", import_id="imp-7", part_size=5 * MIB)
    assert [action for action, _, _ in proxy.faults] == ["lose-answer"]
    completes = [target for (method, target) in proxy.seen if method == "POST" and "uploadId=" in target]
    assert proxy.seen[("POST", completes[0])] == 2  # the retry went out, signed If-None-Match: * again
    client = s3_helpers.client(localstack)
    stored = client.get_object(Bucket=bucket, Key="imports/imp-7.json")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(path.read_bytes()).digest()
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
