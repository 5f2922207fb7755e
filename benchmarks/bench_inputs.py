"""The benchmark's inputs: fake credentials, the object every case signs, section titles, run plans."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's documented example secret
REGION = "eu-west-1"
BUCKET = "acme-imports"
KEY = "imports/raw/2026/11/22/0f8fad5b-d9cb-469f-a165-70867728950e/quarterly-report-q3.csv"
FILENAME = "Quarterly report Q3.csv"
CONTENT_TYPE = "text/csv"
CONTENT_LENGTH = 48_213_773
EXPIRES = 1800
METADATA = {"original-filename": FILENAME}
ACCOUNT = "acmeimports"
CONTAINER = "uploads"
ACCOUNT_KEY = base64.b64encode(bytes(range(64))).decode("ascii")
GCS_PROJECT = "acme-bench"
GCS_EMAIL = f"uploader@{GCS_PROJECT}.iam.gserviceaccount.com"
GCS_HEADERS = {
    "Content-Type": CONTENT_TYPE,
    "x-goog-if-generation-match": "0",
    "x-goog-meta-original-filename": FILENAME,
}
HMAC_ACCESS_ID = "GOOG1EBENCHACCESSID0123456789ABCDEFGHIJKLMNOPQRSTUVWXY"
HMAC_SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"  # noqa: S105 - a made-up benchmark key
FROZEN_NOW = datetime(2026, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
ORIGIN = "https://app.example.com"
MULTIPART_BYTES = 50 * 1024**3
SINGLE_SIZE = 5_000_000  # a file presign_upload sends in one request (S3 and GCS sign its exact size)
MULTIPART_PARTS = 10_000
UPLOAD_ID = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA.exampleMultipartUploadId-0123456789"
SDK_ROOTS = ("boto3", "botocore", "s3transfer", "aiobotocore", "azure", "google", "obstore")

SECTION_PRESIGN = "== 1. Per-URL presign cost =="
SECTION_BATCH = "== 2. Batch: every part URL of a 50 GiB multipart upload (10,000 parts) =="
SECTION_COLD = "== 3. Cold start: a fresh interpreter that imports and presigns one URL =="
SECTION_CHECKER = "== 4. Setup checker fleet against a loopback storage stub (50 ms per request) =="
SECTION_TARGETS = "== Targets =="


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to measure: the full run or the quick smoke run."""

    repeats: int
    min_loop_seconds: float
    batch_repeats: int
    sdk_batch_repeats: int
    cold_runs: int
    destinations: int
    serial_destinations: int
    concurrency: tuple[int, ...] = (16, 64, 256)


FULL = Plan(
    repeats=7,
    min_loop_seconds=0.2,
    batch_repeats=5,
    sdk_batch_repeats=3,
    cold_runs=7,
    destinations=1000,
    serial_destinations=30,
)
QUICK = Plan(
    repeats=3,
    min_loop_seconds=0.01,
    batch_repeats=2,
    sdk_batch_repeats=1,
    cold_runs=1,
    destinations=64,
    serial_destinations=2,
)
